//go:build !flintprof

package main

// startProfiles does nothing without -tags flintprof (see profile.go).
func startProfiles() (stop func()) { return func() {} }
