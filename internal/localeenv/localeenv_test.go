package localeenv

import "testing"

func TestFixSetsCMessagesOnlyForACodesetFormOfC(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // what LC_MESSAGES is set to; "" for untouched
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "C"},
		{map[string]string{"LANG": "POSIX.utf8"}, "C"},
		{map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "de_DE.UTF-8"}, "C"},
		{map[string]string{"LANG": "C"}, ""},             // the library already understands it
		{map[string]string{"LANG": "en_GB.UTF-8"}, ""},   // a real language stands
		{map[string]string{"LANG": "Catalan.UTF-8"}, ""}, // not C, only starts with it
		{map[string]string{"LC_ALL": "C.UTF-8"}, ""},     // LC_ALL would win anyway; left alone
		{map[string]string{"LC_ALL": "fr_FR.UTF-8", "LANG": "C.UTF-8"}, ""},
		{map[string]string{}, ""},
	} {
		got := ""
		fix(func(k string) string { return c.env[k] }, func(k, v string) error {
			if k != "LC_MESSAGES" {
				t.Errorf("env %v: %s set, only LC_MESSAGES may be", c.env, k)
			}
			got = v
			return nil
		})
		if got != c.want {
			t.Errorf("env %v: LC_MESSAGES set to %q, want %q", c.env, got, c.want)
		}
	}
}
