package redact

import (
	"strings"
	"testing"
)

// FuzzString checks masking is idempotent, leaves strings that cannot hold
// a credential alone, and removes the password of any URL with userinfo.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "https://u:p@h/x", "a=b", "rbd:p/i:key=K", "x?token=t&y=1", "/dev/sda", "@@==::", "https://@h"} {
		f.Add(s, "hunter2")
	}
	f.Fuzz(func(t *testing.T, s, pw string) {
		once := String(s)
		if twice := String(once); twice != once {
			t.Errorf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if !strings.ContainsAny(s, "@=") && once != s {
			t.Errorf("changed a string without @ or =: %q -> %q", s, once)
		}
		if pw == "" || strings.ContainsAny(pw, "/@?# \t\n\r") || strings.Contains(Mask, pw) {
			return
		}
		u := "vsphere:https://admin:" + pw + "@vc.example/sdk"
		if got := String(u); strings.Contains(got, ":"+pw+"@") {
			t.Errorf("password left in %q", got)
		}
	})
}
