package jailspec

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want string // the whole error; "" when the id is valid
	}{
		{name: "a word is accepted", id: "web"},
		{name: "one letter is accepted", id: "a"},
		{name: "digits with a letter are accepted", id: "0a"},
		{name: "dashes and underscores are accepted", id: "my-ctr_1"},
		{name: "a containerd id is accepted", id: "b2a4c9e1f7d84e0f9d2f1e5c6b7a8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c"},
		{name: "a colon is accepted", id: "k8s:ctr"},
		{name: "non-ASCII letters are accepted", id: "café"},
		{name: "255 bytes are accepted", id: strings.Repeat("x", 255)},
		{name: "empty id is rejected", id: "", want: "container id must not be empty"},
		{
			name: "all digits are rejected",
			id:   "42",
			want: `container id "42" is all digits, which jail(8) reads as a jail id`,
		},
		{
			name: "a dot is rejected",
			id:   "pod.ctr",
			want: `container id "pod.ctr" contains '.', which cannot be part of a jail name`,
		},
		{
			name: "a slash is rejected",
			id:   "a/b",
			want: `container id "a/b" contains '/', which cannot be part of a jail name`,
		},
		{
			name: "dot-dot is rejected",
			id:   "..",
			want: `container id ".." contains '.', which cannot be part of a jail name`,
		},
		{
			name: "a space is rejected",
			id:   "my ctr",
			want: `container id "my ctr" contains white space or a control character`,
		},
		{
			name: "a tab is rejected",
			id:   "ctr\t",
			want: `container id "ctr\t" contains white space or a control character`,
		},
		{
			name: "a newline is rejected",
			id:   "ctr\n",
			want: `container id "ctr\n" contains white space or a control character`,
		},
		{
			name: "a NUL is rejected",
			id:   "ctr\x00x",
			want: `container id "ctr\x00x" contains white space or a control character`,
		},
		{
			name: "DEL is rejected",
			id:   "ctr\x7f",
			want: `container id "ctr\x7f" contains white space or a control character`,
		},
		{
			name: "a no-break space is rejected",
			id:   "ctr\u00a0x",
			want: `container id "ctr\u00a0x" contains white space or a control character`,
		},
		{
			name: "invalid UTF-8 is rejected",
			id:   "ctr\xff",
			want: `container id "ctr\xff" contains white space or a control character`,
		},
		{
			name: "256 bytes are rejected",
			id:   strings.Repeat("x", 256),
			want: `container id "` + strings.Repeat("x", 256) + `" is longer than 255 bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID(tt.id)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ValidateID(%q) = %v, want nil", tt.id, err)
			case tt.want != "" && err == nil:
				t.Errorf("ValidateID(%q) = nil, want %q", tt.id, tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("ValidateID(%q) = %q\nwant %q", tt.id, err, tt.want)
			}
		})
	}
}
