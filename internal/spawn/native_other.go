//go:build linux && !amd64

package spawn

import "errors"

const nativeAvailable = false

func nativeShimPath() (string, error) { return "", errors.New("no native shim for this architecture") }
