package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/netns"
	"github.com/runj-go/runj-go/oci/state"
)

// Named network jails, `runj-go netns`: the FreeBSD counterpart of `ip
// netns`. A network jail is a persistent vnet jail with no process, rooted
// at the host's /, whose network is one end of an epair; the other end is
// a member of a bridge on the host. Containers join it as child jails
// (freebsd.jail.parent NAME, vnet inherit) and share its network stack:
// a pod. `netns exec` runs a host command inside it.
//
// Create records each step in the network jail's record (state.NetnsStore)
// as it is done; a failed create and delete undo them in reverse.

// DefaultBridge is the bridge a network jail joins when create names none.
// It is made when the host has no interface of that name.
const DefaultBridge = "bridge0"

// ipv6MinMTU is the smallest MTU of a link that carries IPv6
// (sys/netinet/ip6.h: IPV6_MMTU 1280).
const ipv6MinMTU = 1280

// netJailVersion is the schema version of a network jail's record.
const netJailVersion = 1

// Errors callers match on.
var (
	ErrNetJailExists = errors.New("network jail exists")
	ErrNetJailInUse  = errors.New("network jail is in use")
)

// Undo-log steps of a network jail, in the order create does them.
const (
	stepNetBridge = "netns-bridge" // the bridge create made on the host
	stepNetJail   = "netns-jail"   // the vnet jail (jailStep)
	stepNetEpair  = "netns-epair"  // the epair, its "b" end moved into the jail
)

type netBridgeStep struct {
	Bridge string `json:"bridge"`
}

type netEpairStep struct {
	// A stays on the host; B is moved into the jail, where it is
	// named InJail, once JID is set.
	A      string `json:"a"`
	B      string `json:"b"`
	InJail string `json:"inJail,omitempty"`
	JID    int    `json:"jid,omitempty"`
}

// NetJailOpts are the options of `runj-go netns create`.
type NetJailOpts struct {
	// Bridge is the host bridge the jail's epair joins: DefaultBridge
	// when empty. A missing bridge is made, if its name is "bridge"
	// and a unit number.
	Bridge string
	// Addresses are given to the jail's end of the epair: CIDR, IPv4
	// and IPv6.
	Addresses []string
	// Gateways are the default routes inside the jail: at most one
	// IPv4 and one IPv6 address, each on the subnet of an address (an
	// IPv6 link-local gateway is reached through the jail's interface).
	Gateways []string
	// MTU, when not 0, is the MTU of the jail's end of the epair. The
	// host's end is left to the bridge, which gives a new member its
	// own MTU, or on older releases refuses one whose MTU differs
	// (sys/net/if_bridge.c: bridge_ioctl_add), and forbids changing a
	// member's (sys/net/if.c: ifhwioctl, SIOCSIFMTU).
	MTU int
}

// NetJail is a named network jail.
type NetJail struct {
	Name string `json:"name"`
	JID  int    `json:"jid"`
	// Bridge is the host bridge; HostInterface the epair end that is
	// its member; Interface the other end's name inside the jail.
	Bridge        string    `json:"bridge"`
	HostInterface string    `json:"hostInterface,omitempty"`
	Interface     string    `json:"interface,omitempty"`
	Addresses     []string  `json:"addresses"`
	Gateways      []string  `json:"gateways"`
	MTU           int       `json:"mtu,omitempty"`
	Created       time.Time `json:"created"`
	// Ready is set when create has finished. A network jail that is
	// not ready is being created, or its create died: delete it.
	Ready bool `json:"ready"`
}

// NetJailInfo is a network jail as `netns list` shows it.
type NetJailInfo struct {
	NetJail
	// Containers are the containers under the runtime's root whose
	// jails are children of the network jail.
	Containers []string `json:"containers"`
}

// netJailRecord is what the store keeps of a network jail.
type netJailRecord struct {
	Version int `json:"version"`
	NetJail
	// Steps is the undo log, as a container's.
	Steps []state.Step `json:"steps,omitempty"`
}

// netJailPlan is a validated netns create.
type netJailPlan struct {
	name     string
	bridge   string
	addrs    []netip.Prefix
	gateways []netip.Addr
	mtu      int
	params   jailspec.Params
}

// planNetJail validates the options of netns create and computes the
// jail's parameters. Every invalid option is reported.
func planNetJail(name string, o NetJailOpts) (*netJailPlan, error) {
	if err := jailspec.ValidateID(name); err != nil {
		return nil, fmt.Errorf("network jail name: %w", err)
	}
	p := &netJailPlan{name: name, bridge: o.Bridge, mtu: o.MTU}
	if p.bridge == "" {
		p.bridge = DefaultBridge
	}
	var errs []error
	if err := netns.CheckIfName(p.bridge); err != nil {
		errs = append(errs, fmt.Errorf("--bridge: %w", err))
	}
	for _, a := range o.Addresses {
		pfx, err := netip.ParsePrefix(a)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--address %q: not an address with a prefix length (10.0.0.2/24, fd00::2/64)", a))
		case pfx.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("--address %q: an IPv4-mapped IPv6 address; give the IPv4 address", a))
		case slices.ContainsFunc(p.addrs, func(q netip.Prefix) bool { return q.Addr() == pfx.Addr() }):
			errs = append(errs, fmt.Errorf("--address %q: the address is given twice", a))
		default:
			p.addrs = append(p.addrs, pfx)
		}
	}
	for _, g := range o.Gateways {
		gw, err := p.gateway(g)
		if err != nil {
			errs = append(errs, fmt.Errorf("--gateway %q: %w", g, err))
			continue
		}
		p.gateways = append(p.gateways, gw)
	}
	if err := p.checkMTU(); err != nil {
		errs = append(errs, fmt.Errorf("--mtu %d: %w", p.mtu, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// No children.max: the kernel counts a new jail against the jails
	// of its creator, the host, not against its parent's children.max
	// (sys/kern/kern_jail.c: kern_jail_set, "prison limit exceeded"),
	// so the containers runj-go creates in it need none, and a process
	// of netns exec gets no right to make jails.
	//
	// System V IPC must be enabled in it: a child jail may have sysvmsg,
	// sysvsem or sysvshm new or inherit only when its parent has them
	// (sys/kern/sysv_msg.c msg_prison_check, sysv_sem.c sem_prison_check,
	// sysv_shm.c shm_prison_check: EPERM otherwise), containers default to
	// new, and a jail created without the parameters has them disabled.
	p.params = jailspec.Params{
		jailspec.StringParam("name", name),
		jailspec.StringParam("path", "/"),
		jailspec.BoolParam("persist", true),
		jailspec.SysParam("vnet", jailspec.New),
		jailspec.SysParam("sysvmsg", jailspec.New),
		jailspec.SysParam("sysvsem", jailspec.New),
		jailspec.SysParam("sysvshm", jailspec.New),
	}
	return p, nil
}

// gateway parses a default gateway and checks that the jail can reach it:
// it is on the subnet of one of the addresses, or an IPv6 link-local
// address, and the only one of its family.
func (p *netJailPlan) gateway(g string) (netip.Addr, error) {
	gw, err := netip.ParseAddr(g)
	switch {
	case err != nil:
		return gw, errors.New("not an IP address")
	case gw.Zone() != "":
		return gw, errors.New("has a zone: a link-local gateway is reached through the jail's interface")
	case gw.Is4In6():
		return gw, errors.New("an IPv4-mapped IPv6 address; give the IPv4 address")
	case gw.IsUnspecified() || gw.IsMulticast():
		return gw, errors.New("not a unicast address")
	case slices.ContainsFunc(p.gateways, func(o netip.Addr) bool { return o.Is4() == gw.Is4() }):
		return gw, errors.New("a second gateway of the same address family: there is one default route per family")
	}
	family := slices.DeleteFunc(slices.Clone(p.addrs), func(a netip.Prefix) bool { return a.Addr().Is4() != gw.Is4() })
	switch {
	case len(family) == 0:
		return gw, fmt.Errorf("needs an %s --address to reach it from", familyName(gw))
	case slices.ContainsFunc(family, func(a netip.Prefix) bool { return a.Addr() == gw }):
		return gw, errors.New("is an address of the jail itself")
	case gw.IsLinkLocalUnicast() && gw.Is6():
		return gw, nil
	case !slices.ContainsFunc(family, func(a netip.Prefix) bool { return a.Masked().Contains(gw) }):
		return gw, fmt.Errorf("is on the subnet of no --address, so the jail cannot reach it (the kernel refuses the route: ENETUNREACH)")
	}
	return gw, nil
}

func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func (p *netJailPlan) checkMTU() error {
	switch {
	case p.mtu == 0:
		return nil
	case p.mtu < netns.IF_MINMTU || p.mtu > netns.IF_MAXMTU:
		return fmt.Errorf("the kernel takes an MTU from %d to %d", netns.IF_MINMTU, netns.IF_MAXMTU)
	case p.mtu < ipv6MinMTU && slices.ContainsFunc(p.addrs, func(a netip.Prefix) bool { return a.Addr().Is6() }):
		return fmt.Errorf("IPv6 needs an MTU of at least %d", ipv6MinMTU)
	}
	return nil
}

// inJail is the configuration the re-executed runtime makes inside the
// jail: lo0 with 127.0.0.1 and up; the jail's interface's MTU, addresses,
// and up; then the
// default routes, which need the interface's addresses and the interface
// up.
func (p *netJailPlan) inJail(ifname string) *initNet {
	jailIface := initIface{Name: ifname, MTU: p.mtu}
	for _, a := range p.addrs {
		jailIface.Addrs = append(jailIface.Addrs, a.String())
	}
	n := &initNet{Ifaces: []initIface{loopback(), jailIface}}
	for _, gw := range p.gateways {
		if gw.Is6() && gw.IsLinkLocalUnicast() {
			gw = gw.WithZone(ifname)
		}
		n.Gateways = append(n.Gateways, gw.String())
	}
	return n
}

// record is the record of a network jail create is about to make.
func (p *netJailPlan) record() *netJailRecord {
	rec := &netJailRecord{Version: netJailVersion, NetJail: NetJail{
		Name: p.name, Bridge: p.bridge, MTU: p.mtu, Created: time.Now(),
		Addresses: []string{}, Gateways: []string{},
	}}
	for _, a := range p.addrs {
		rec.Addresses = append(rec.Addresses, a.String())
	}
	for _, gw := range p.gateways {
		rec.Gateways = append(rec.Gateways, gw.String())
	}
	return rec
}

// netJailTx is one create or delete of a network jail, holding the lock
// of the records.
type netJailTx struct {
	r     *Runtime
	store *state.NetnsStore
	rec   *netJailRecord
	// inJail configures the network inside the jail: Runtime.netInJail,
	// which re-executes the runtime, or a test's fake.
	inJail func(jid int, n *initNet) error
}

func (tx *netJailTx) save() error { return tx.store.Save(tx.rec.Name, tx.rec) }

func (tx *netJailTx) addStep(kind string, data any) error {
	tx.rec.Steps = append(tx.rec.Steps, mustStep(kind, data))
	return tx.save()
}

// setStep replaces the last step, which create recorded before its
// action, with what the action made.
func (tx *netJailTx) setStep(kind string, data any) error {
	tx.rec.Steps[len(tx.rec.Steps)-1] = mustStep(kind, data)
	return tx.save()
}

// CreateNetJail creates the network jail name: see the top of this file.
func (r *Runtime) CreateNetJail(name string, o NetJailOpts) (*NetJail, error) {
	return r.createNetJail(name, o, r.netInJail)
}

// createNetJail is CreateNetJail with the in-jail configuration given.
func (r *Runtime) createNetJail(name string, o NetJailOpts, inJail func(int, *initNet) error) (*NetJail, error) {
	p, err := planNetJail(name, o)
	if err != nil {
		return nil, err
	}
	store := r.Store.Netns()
	unlock, err := store.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var old netJailRecord
	if err := store.Load(name, &old); err == nil {
		if !old.Ready {
			return nil, fmt.Errorf("%w: %s (left by a create that did not finish: netns delete %s)", ErrNetJailExists, name, name)
		}
		return nil, fmt.Errorf("%w: %s", ErrNetJailExists, name)
	} else if !errors.Is(err, state.ErrNetnsNotExist) {
		return nil, err
	}
	tx := &netJailTx{r: r, store: store, rec: p.record(), inJail: inJail}
	if err := tx.save(); err != nil {
		return nil, err
	}
	if err := tx.create(p); err != nil {
		if uerr := tx.undo(); uerr != nil {
			r.Log.WithField("netns", name).WithError(uerr).Error("undo failed netns create")
			return nil, fmt.Errorf("netns create %s: %w (undoing it failed too: %v; netns delete %s finishes the job)", name, err, uerr, name)
		}
		if rerr := store.Remove(name); rerr != nil {
			r.Log.WithField("netns", name).WithError(rerr).Error("remove record of failed netns create")
		}
		return nil, fmt.Errorf("netns create %s: %w", name, err)
	}
	return &tx.rec.NetJail, nil
}

// create makes the network jail step by step, recording each step.
func (tx *netJailTx) create(p *netJailPlan) error {
	k := tx.r.Kernel
	if _, err := k.LookupJail(p.name); err == nil {
		return fmt.Errorf("a jail named %s exists already", p.name)
	} else if !errors.Is(err, jailspec.ErrNotFound) {
		return err
	}
	if err := tx.bridge(p.bridge); err != nil {
		return err
	}
	// Recorded by name before jail_set, as a container's jail: a create
	// that dies right after jail_set leaves delete what it needs.
	if err := tx.addStep(stepNetJail, jailStep{Name: p.name}); err != nil {
		return err
	}
	jid, err := k.CreateJail(p.params)
	if err != nil {
		return fmt.Errorf("create jail %s: %w", p.name, err)
	}
	tx.rec.JID = jid
	if err := tx.setStep(stepNetJail, jailStep{JID: jid, Name: p.name}); err != nil {
		return err
	}
	ifname, err := tx.epair(p.bridge, jid)
	if err != nil {
		return err
	}
	if err := tx.inJail(jid, p.inJail(ifname)); err != nil {
		return fmt.Errorf("configure the network of jail %s: %w", p.name, err)
	}
	tx.rec.Ready = true
	return tx.save()
}

// bridge makes the bridge and brings it up, unless the host has an
// interface of that name: an existing bridge is used as it is.
func (tx *netJailTx) bridge(name string) error {
	host, err := tx.r.Kernel.Interfaces()
	if err != nil {
		return err
	}
	log := tx.r.Log.WithField("netns", tx.rec.Name).WithField("bridge", name)
	if slices.ContainsFunc(host, func(i netns.Iface) bool { return i.Name == name }) {
		log.Debug("bridge exists; using it as it is")
		return nil
	}
	if unit, ok := strings.CutPrefix(name, "bridge"); !ok || unit == "" || strings.Trim(unit, "0123456789") != "" {
		return fmt.Errorf("--bridge %s: the host has no such interface, and only a bridge named bridgeN can be made", name)
	}
	made, err := tx.r.Kernel.CreateClone(name)
	if err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	if err := tx.addStep(stepNetBridge, netBridgeStep{Bridge: made}); err != nil {
		return err
	}
	log.Debug("bridge made")
	if err := tx.r.Kernel.SetUp(made); err != nil {
		return fmt.Errorf("bring up bridge %s: %w", made, err)
	}
	return nil
}

// epair makes the epair, adds its "a" end to the bridge and brings it up,
// and moves its "b" end into the jail's vnet. It returns the name of the
// "b" end there.
func (tx *netJailTx) epair(bridge string, jid int) (string, error) {
	k := tx.r.Kernel
	a, err := k.CreateClone("epair")
	if err != nil {
		return "", fmt.Errorf("create epair: %w", err)
	}
	b, err := epairPeer(a)
	if err != nil {
		return "", err
	}
	tx.rec.HostInterface = a
	if err := tx.addStep(stepNetEpair, netEpairStep{A: a, B: b}); err != nil {
		return "", err
	}
	if err := k.AddBridgeMember(bridge, a); err != nil {
		return "", fmt.Errorf("add %s to bridge %s: %w", a, bridge, err)
	}
	if err := k.SetUp(a); err != nil {
		return "", fmt.Errorf("bring up %s: %w", a, err)
	}
	inJail, err := k.MoveToVnet(b, jid)
	if err != nil {
		return "", fmt.Errorf("move %s into the vnet of jail %d: %w", b, jid, err)
	}
	tx.rec.Interface = inJail
	if err := tx.setStep(stepNetEpair, netEpairStep{A: a, B: b, InJail: inJail, JID: jid}); err != nil {
		return "", err
	}
	return inJail, nil
}

// epairPeer is the "b" end of the epair whose "a" end is a: the kernel
// names the pair epairNa and epairNb (sys/net/if_epair.c:
// epair_clone_create).
func epairPeer(a string) (string, error) {
	base, ok := strings.CutSuffix(a, "a")
	if !ok || !strings.HasPrefix(base, "epair") {
		return "", fmt.Errorf("create epair: the kernel named it %q, not epairNa", a)
	}
	return base + "b", nil
}

// netInJail configures the network inside a vnet jail, through a
// re-executed runtime attached to the jail: no ifconfig(8), no route(8).
func (r *Runtime) netInJail(jid int, n *initNet) error {
	var out strings.Builder
	cfg := &initConfig{JID: jid, FifoFd: -1, ConsoleFd: -1, Net: n}
	p, err := r.startInit(cfg, &initFiles{}, procStdio{out: &out, err: &out})
	if err != nil {
		return err
	}
	if err := p.waitReady(); err != nil {
		return err
	}
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("%w: %s", err, out.String())
	}
	return nil
}

// undo reverses the recorded steps, saving after each one, so that an
// interrupted undo resumes where it stopped.
func (tx *netJailTx) undo() error {
	for len(tx.rec.Steps) > 0 {
		step := tx.rec.Steps[len(tx.rec.Steps)-1]
		if err := tx.undoStep(step); err != nil {
			return fmt.Errorf("network jail %s: undo %s: %w", tx.rec.Name, step.Kind, err)
		}
		tx.rec.Steps = tx.rec.Steps[:len(tx.rec.Steps)-1]
		if err := tx.save(); err != nil {
			return err
		}
	}
	return nil
}

// undoStep reverses one step; each succeeds when there is nothing left to
// undo, so that a repeated delete finishes the job.
func (tx *netJailTx) undoStep(step state.Step) error {
	k := tx.r.Kernel
	switch step.Kind {
	case stepNetEpair:
		var s netEpairStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return err
		}
		// Destroying the host's end destroys the pair, the end in the
		// jail's vnet too (sys/net/if_epair.c: epair_clone_destroy),
		// and is done before the jail is removed: a removed jail's
		// vnet, and the interfaces in it, linger while the jail is
		// dying.
		return ignoreGone(k.DestroyClone(s.A))
	case stepNetJail:
		var s jailStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return err
		}
		// Found by name, as a container's jail: the jid is 0 when
		// create died before jail_set returned, and may be another
		// jail's after a reboot. jail_remove kills what `netns exec`
		// left running in it.
		jid, err := k.LookupJail(s.Name)
		if errors.Is(err, jailspec.ErrNotFound) || (err == nil && s.JID != 0 && jid != s.JID) {
			return nil
		}
		if err != nil {
			return err
		}
		return k.RemoveJail(jid)
	case stepNetBridge:
		var s netBridgeStep
		if err := json.Unmarshal(step.Data, &s); err != nil {
			return err
		}
		return tx.undoBridge(step, s.Bridge)
	}
	return fmt.Errorf("unknown step %q in the record", step.Kind)
}

// undoBridge destroys the bridge this network jail made, unless another
// network jail uses it: that one then owns the bridge, and destroys it
// when it is deleted in turn.
func (tx *netJailTx) undoBridge(step state.Step, bridge string) error {
	names, err := tx.store.List()
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == tx.rec.Name {
			continue
		}
		var other netJailRecord
		if err := tx.store.Load(name, &other); err != nil || other.Bridge != bridge {
			continue
		}
		other.Steps = append([]state.Step{step}, other.Steps...)
		if err := tx.store.Save(name, &other); err != nil {
			return err
		}
		tx.r.Log.WithField("netns", tx.rec.Name).WithField("bridge", bridge).Debugf("bridge stays: network jail %s uses it and now owns it", name)
		return nil
	}
	return ignoreGone(tx.r.Kernel.DestroyClone(bridge))
}

// ignoreGone drops the error of destroying an interface that is gone
// already (ifunit finds no such interface: ENXIO).
func ignoreGone(err error) error {
	if errors.Is(err, syscall.ENXIO) {
		return nil
	}
	return err
}

// DeleteNetJail undoes everything create did for network jail name. It
// refuses while containers under the runtime's root use it.
func (r *Runtime) DeleteNetJail(name string) error {
	store := r.Store.Netns()
	unlock, err := store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	rec := &netJailRecord{}
	if err := store.Load(name, rec); err != nil {
		return err
	}
	users, err := r.netJailUsers(name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("cannot delete network jail %s: %w by container(s) %s; delete them first", name, ErrNetJailInUse, strings.Join(users, ", "))
	}
	tx := &netJailTx{r: r, store: store, rec: rec}
	if err := tx.undo(); err != nil {
		return err
	}
	return store.Remove(name)
}

// netJailUsers lists the containers whose jails are children of the
// network jail name, or their children.
func (r *Runtime) netJailUsers(name string) ([]string, error) {
	all, err := r.containerJails()
	if err != nil {
		return nil, err
	}
	return usersOf(name, all), nil
}

// containerJail is a container and the name of its jail.
type containerJail struct{ id, jail string }

// containerJails lists the containers under the root with their jail
// names. A container deleted meanwhile is skipped.
func (r *Runtime) containerJails() ([]containerJail, error) {
	ids, err := r.Store.List()
	if err != nil {
		return nil, err
	}
	var out []containerJail
	for _, id := range ids {
		st, err := r.Store.Load(id)
		if errors.Is(err, state.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, containerJail{id, st.JailName})
	}
	return out, nil
}

func usersOf(name string, all []containerJail) []string {
	users := []string{}
	for _, c := range all {
		if strings.HasPrefix(c.jail, name+".") {
			users = append(users, c.id)
		}
	}
	return users
}

// NetJails lists the network jails and the containers that use each.
func (r *Runtime) NetJails() ([]NetJailInfo, error) {
	store := r.Store.Netns()
	names, err := store.List()
	if err != nil {
		return nil, err
	}
	all, err := r.containerJails()
	if err != nil {
		return nil, err
	}
	out := []NetJailInfo{}
	for _, name := range names {
		var rec netJailRecord
		err := store.Load(name, &rec)
		if errors.Is(err, state.ErrNetnsNotExist) {
			continue // deleted while we listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, NetJailInfo{NetJail: rec.NetJail, Containers: usersOf(name, all)})
	}
	return out, nil
}

// ExecNetJail starts args inside the network jail name, as `ip netns
// exec` does: with the caller's environment, working directory,
// credentials and stdio. The jail's root is the host's /, so paths mean
// what they mean to the caller. Wait or Foreground for its exit status.
func (r *Runtime) ExecNetJail(name string, args []string) (*Process, error) {
	if len(args) == 0 {
		return nil, errors.New("netns exec: give the command to run")
	}
	var rec netJailRecord
	if err := r.Store.Netns().Load(name, &rec); err != nil {
		return nil, err
	}
	if !rec.Ready {
		return nil, fmt.Errorf("network jail %s is not ready: its create is under way, or did not finish (netns delete %s)", name, name)
	}
	jid, err := r.Kernel.LookupJail(name)
	if err == nil && jid != rec.JID {
		err = fmt.Errorf("jail %s is jail %d, not %d: %w", name, jid, rec.JID, jailspec.ErrNotFound)
	}
	if errors.Is(err, jailspec.ErrNotFound) {
		return nil, fmt.Errorf("network jail %s: its jail is gone (was the host restarted?): netns delete %s, then create it again: %w", name, name, err)
	}
	if err != nil {
		return nil, err
	}
	p, err := callerProcess(args)
	if err != nil {
		return nil, err
	}
	cfg := &initConfig{JID: jid, Process: p, FifoFd: -1, ConsoleFd: -1}
	sigs := catchSignals() // see Run
	init, err := r.startInit(cfg, &initFiles{}, ownStdio())
	if err == nil {
		err = init.waitExec()
	}
	if err != nil {
		stopCatching(sigs)
		return nil, fmt.Errorf("netns exec %s: %w", name, err)
	}
	return &Process{Pid: init.cmd.Process.Pid, init: init, sigs: sigs}, nil
}

// callerProcess is args run with the caller's environment, working
// directory and credentials.
func callerProcess(args []string) (*specs.Process, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("netns exec: working directory: %w", err)
	}
	groups, err := os.Getgroups()
	if err != nil {
		return nil, fmt.Errorf("netns exec: groups: %w", err)
	}
	p := &specs.Process{
		Args: args,
		Env:  os.Environ(),
		Cwd:  cwd,
		User: specs.User{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())},
	}
	for _, g := range groups {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	return p, nil
}
