package bundle

import (
	"fmt"
	"strings"
)

// FieldError is a validation failure of one setting. Path is the JSON path
// of the setting ("freebsd.jail.ip4Addr[1]"); File names the file it is
// in, config.json when empty.
type FieldError struct {
	File string
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	file := e.File
	if file == "" {
		file = ConfigFile
	}
	return file + ": " + e.Path + ": " + e.Msg
}

// Fieldf returns a FieldError for path with a formatted message.
func Fieldf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Errors collects every FieldError of one validation pass, so that a user
// sees all problems of a config.json at once.
type Errors []*FieldError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "\n")
}

// Add appends a FieldError for path.
func (e *Errors) Add(path, format string, args ...any) {
	*e = append(*e, Fieldf(path, format, args...))
}

// Err returns nil when no error was collected, else e itself.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}
