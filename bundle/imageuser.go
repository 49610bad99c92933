package bundle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runj-go/runj-go/rootfs"
)

// The image's own account databases, and how much of them is read.
const (
	passwdFile    = "/etc/passwd"
	groupFile     = "/etc/group"
	maxPasswdSize = 16 << 20
)

// resolveUser turns an image's Config.User into process.user (config.md,
// conversion.md), reading /etc/passwd and /etc/group of the image's root
// filesystem root:
//
//   - "" runs as root, uid 0 and gid 0 (conversion.md leaves it to the
//     implementation);
//   - "uid" is copied; the gid is the user's in /etc/passwd, 0 for a uid
//     that has no entry (images often run as a bare number);
//   - "user" takes uid and gid from /etc/passwd, and every group of
//     /etc/group that lists the user as a member as additional group;
//   - with ":group" or ":gid", the group is that one and there are no
//     additional groups.
//
// A name that the files do not have is an error (conversion.md: MUST).
func resolveUser(root, user string) (specs.User, error) {
	if user == "" {
		return specs.User{}, nil
	}
	name, group, hasGroup := strings.Cut(user, ":")
	if name == "" || (hasGroup && group == "") {
		return specs.User{}, fmt.Errorf("image user %q is not USER, UID, USER:GROUP or UID:GID", user)
	}
	db := accounts{root: root}
	var u specs.User
	if uid, ok := parseID(name); ok {
		u.UID = uid
		if !hasGroup {
			e, found, err := db.userByID(uid)
			if err != nil {
				return specs.User{}, fmt.Errorf("image user %q: %w", user, err)
			}
			if found {
				u.GID = e.gid
			}
		}
	} else {
		e, found, err := db.userByName(name)
		if err != nil {
			return specs.User{}, fmt.Errorf("image user %q: %w", user, err)
		}
		if !found {
			return specs.User{}, fmt.Errorf("image user %q: no user %q in the image's %s", user, name, passwdFile)
		}
		u.UID, u.GID = e.uid, e.gid
		if !hasGroup {
			if u.AdditionalGids, err = db.memberOf(name, e.gid); err != nil {
				return specs.User{}, fmt.Errorf("image user %q: %w", user, err)
			}
		}
	}
	if hasGroup {
		gid, ok := parseID(group)
		if !ok {
			e, found, err := db.groupByName(group)
			if err != nil {
				return specs.User{}, fmt.Errorf("image user %q: %w", user, err)
			}
			if !found {
				return specs.User{}, fmt.Errorf("image user %q: no group %q in the image's %s", user, group, groupFile)
			}
			gid = e.gid
		}
		u.GID = gid
	}
	return u, nil
}

// parseID reads a decimal uid or gid.
func parseID(s string) (uint32, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// accounts reads /etc/passwd and /etc/group of a root filesystem, each
// once and only when needed. A missing file holds no entries.
type accounts struct {
	root          string
	passwd, group []account
	readP, readG  bool
}

// account is a line of /etc/passwd (name, uid, gid) or of /etc/group
// (name, gid, members).
type account struct {
	name    string
	uid     uint32
	gid     uint32
	members []string
}

func (a *accounts) users() ([]account, error) {
	if !a.readP {
		data, err := readAccountFile(a.root, passwdFile)
		if err != nil {
			return nil, err
		}
		a.passwd, a.readP = parsePasswd(data), true
	}
	return a.passwd, nil
}

func (a *accounts) groups() ([]account, error) {
	if !a.readG {
		data, err := readAccountFile(a.root, groupFile)
		if err != nil {
			return nil, err
		}
		a.group, a.readG = parseGroup(data), true
	}
	return a.group, nil
}

func readAccountFile(root, name string) ([]byte, error) {
	data, err := readInRoot(root, name, maxPasswdSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func find(list []account, err error, match func(account) bool) (account, bool, error) {
	if err != nil {
		return account{}, false, err
	}
	for _, e := range list {
		if match(e) {
			return e, true, nil
		}
	}
	return account{}, false, nil
}

func (a *accounts) userByName(name string) (account, bool, error) {
	list, err := a.users()
	return find(list, err, func(e account) bool { return e.name == name })
}

func (a *accounts) userByID(uid uint32) (account, bool, error) {
	list, err := a.users()
	return find(list, err, func(e account) bool { return e.uid == uid })
}

func (a *accounts) groupByName(name string) (account, bool, error) {
	list, err := a.groups()
	return find(list, err, func(e account) bool { return e.name == name })
}

// memberOf lists the groups that name the user as a member, in file
// order, without the primary group and without repeats.
func (a *accounts) memberOf(user string, primary uint32) ([]uint32, error) {
	groups, err := a.groups()
	if err != nil {
		return nil, err
	}
	var gids []uint32
	for _, g := range groups {
		if g.gid != primary && slices.Contains(g.members, user) && !slices.Contains(gids, g.gid) {
			gids = append(gids, g.gid)
		}
	}
	return gids, nil
}

// parsePasswd reads passwd(5) lines: name:password:uid:gid:gecos:home:shell.
// Comments, NIS "+"/"-" lines and lines that do not parse are skipped, as
// getpwent(3) does.
func parsePasswd(data []byte) []account {
	var out []account
	eachLine(data, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 {
			out = append(out, account{name: f[0], uid: uid, gid: gid})
		}
	})
	return out
}

// parseGroup reads group(5) lines: name:password:gid:member,member.
func parseGroup(data []byte) []account {
	var out []account
	eachLine(data, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		e := account{name: f[0], gid: gid}
		if len(f) > 3 {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					e.members = append(e.members, m)
				}
			}
		}
		out = append(out, e)
	})
	return out
}

func eachLine(data []byte, fn func(fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.ContainsAny(line[:1], "#+-") {
			continue
		}
		if f := strings.Split(line, ":"); f[0] != "" {
			fn(f)
		}
	}
}

// readInRoot reads the file at the absolute path name inside root
// without leaving root: rootfs.Resolve follows symbolic links beneath root
// only, so the image, not the host, is what is read. A file that is not
// there is fs.ErrNotExist.
func readInRoot(root, name string, limit int64) ([]byte, error) {
	host, missing, err := rootfs.Resolve(root, name)
	if err != nil {
		return nil, fmt.Errorf("the image's %s: %w", name, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the image's %s: %w", name, fs.ErrNotExist)
	}
	// Resolve returns a physical path: no component is a link, and
	// O_NOFOLLOW keeps the last one from becoming one.
	st, err := os.Lstat(host)
	if err != nil {
		return nil, fmt.Errorf("the image's %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("the image's %s is not a regular file", name)
	}
	f, err := os.OpenFile(host, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("the image's %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("the image's %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the image's %s is larger than %d bytes", name, limit)
	}
	return data, nil
}
