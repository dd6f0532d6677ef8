package main

import (
	"fmt"
	"io"
	"strconv"
)

// printIP prints systemctl 252's "IP:" line, the unit's IP accounting (IPAccounting=yes):
// bytes received and sent by its processes.
func printIP(w io.Writer, p map[string]string) {
	in, err1 := strconv.ParseUint(p["IPIngressBytes"], 10, 64)
	out, err2 := strconv.ParseUint(p["IPEgressBytes"], 10, 64)
	if err1 == nil && err2 == nil {
		fmt.Fprintf(w, "         IP: %s in, %s out\n", formatBytes(int(in)), formatBytes(int(out)))
	}
}
