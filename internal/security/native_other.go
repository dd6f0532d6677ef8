//go:build !amd64

package security

// nativeSyscalls is not known for this architecture: every call the groups name counts
// as native (zsyscalls_amd64.go has the x86-64 list).
var nativeSyscalls = func() []string {
	var out []string
	for _, members := range syscallGroups {
		for _, m := range members {
			if m[0] != '@' {
				out = append(out, m)
			}
		}
	}
	return out
}()
