package jailspec

import (
	"fmt"
	"strings"
	"unicode"
)

// MaxNameLen is the longest jail name: sys/sys/jail.h MAXHOSTNAMELEN-sized
// name buffer (256) less its NUL.
const MaxNameLen = 255

// ValidateID checks that a container id can be used as a jail name and as
// a directory name under the state root: not empty, not all digits (jail(8)
// would read it as a jid), no '.' (the kernel's parent separator), no '/',
// no white space or control characters, at most MaxNameLen bytes.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("container id must not be empty")
	case len(id) > MaxNameLen:
		return fmt.Errorf("container id %q is longer than %d bytes", id, MaxNameLen)
	case strings.Trim(id, "0123456789") == "":
		return fmt.Errorf("container id %q is all digits, which jail(8) reads as a jail id", id)
	case strings.ContainsAny(id, "./"):
		return fmt.Errorf("container id %q contains %q, which cannot be part of a jail name", id, id[strings.IndexAny(id, "./")])
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar }):
		return fmt.Errorf("container id %q contains white space or a control character", id)
	}
	return nil
}
