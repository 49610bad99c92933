package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// InitPipeEnv names the environment variable that tells the re-executed
// `runj-go init` which file descriptor carries its configuration.
const InitPipeEnv = "_RUNJ_GO_INITPIPE"

// initConfig is what the runtime sends the re-executed `runj-go init`.
type initConfig struct {
	// JID is the jail to attach to.
	JID int `json:"jid"`
	// Process is the container process (create, exec).
	Process *specs.Process `json:"process,omitempty"`
	// FifoFd is the exec fifo init waits on before it executes the
	// process (create); -1 executes it right away (exec).
	FifoFd int `json:"fifoFd"`
	// ConsoleFd is the connection to the console socket that receives the
	// pty master; -1 without one.
	ConsoleFd int `json:"consoleFd"`
	// PreserveFds is how many file descriptors after stdio the process
	// inherits (--preserve-fds).
	PreserveFds int `json:"preserveFds"`
	// WaitHooks (create) makes init report Attached once it is in the
	// jail and wait for initProceed before it sets up the process: the
	// runtime runs the create hooks in between.
	WaitHooks bool `json:"waitHooks,omitempty"`
	// Net is set to configure the jail's vnet instead of running a
	// process.
	Net *initNet `json:"net,omitempty"`
	// Hook is set to run one hook inside the jail instead of a process.
	Hook *initHook `json:"hook,omitempty"`
}

// initHook is a hook executed inside the jail: its program was opened on
// the host and is executed by descriptor (fexecve), so it need not exist
// in the container.
type initHook struct {
	Fd int `json:"fd"`
	// Path, when set, is executed by path inside the jail instead
	// (startContainer); Fd is then -1.
	Path string   `json:"path,omitempty"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
}

// initReply is init's answer once it is ready to execute the process, or
// failed to get there.
type initReply struct {
	Attached bool   `json:"attached,omitempty"`
	Ready    bool   `json:"ready,omitempty"`
	Error    string `json:"error,omitempty"`
}

// initProceed is the runtime's answer to Attached: Proceed once the create
// hooks have run.
type initProceed struct {
	Proceed bool `json:"proceed"`
}

// initNet is network set-up done inside a vnet jail, in this order.
type initNet struct {
	// Ifaces are configured in order.
	Ifaces []initIface `json:"ifaces,omitempty"`
	// Gateways get a default route each, once the interfaces are
	// configured.
	Gateways []string `json:"gateways,omitempty"`
}

// initIface is an interface's configuration inside a vnet jail: its MTU
// (unless 0), then its addresses (CIDR), then up.
type initIface struct {
	Name  string   `json:"name"`
	MTU   int      `json:"mtu,omitempty"`
	Addrs []string `json:"addrs,omitempty"`
}

// loopback is lo0 of a new vnet: 127.0.0.1/8, which on a host comes from
// rc.d/netif, not the kernel (which adds ::1 itself when lo0 comes up),
// and up.
func loopback() initIface {
	return initIface{Name: "lo0", Addrs: []string{"127.0.0.1/8"}}
}
