//go:build linux && !amd64

package spawn

import "errors"

const vforkAvailable = false

func startVfork(c *Config, fds []int) (*Process, error) {
	return nil, errors.New("spawn: no vfork path on this architecture")
}
