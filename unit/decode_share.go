package unit

import (
	"sync"
	"unsafe"
)

// A service or socket that sets none of the exec settings ends with the same ExecContext as
// every other one (about 1.4 KB): Decode replaces it by one shared value, so that thousands of
// such units do not each hold a copy. The shared values are read only; whoever changes a
// loaded unit's settings (set-property) copies the context first.

var (
	sharedExecOnce                      sync.Once
	sharedServiceExec, sharedSocketExec *ExecContext
)

// sharedExec is the ExecContext a decoded unit of type t has when its files set nothing.
func sharedExec(t Type) *ExecContext {
	sharedExecOnce.Do(func() {
		for _, t := range []Type{TypeService, TypeSocket} {
			u := &Unit{Name: "shared." + string(t), Type: t}
			d := &decoder{u: u}
			d.setDefaults()
			d.postDefaults()
			if t == TypeService {
				sharedServiceExec = u.Service.Exec
			} else {
				sharedSocketExec = u.Socket.Exec
			}
		}
	})
	if t == TypeService {
		return sharedServiceExec
	}
	return sharedSocketExec
}

// shareExec returns the shared context for t when c holds the same value, else c. Equal
// memory is equal values (strings, slices and maps compare by their pointers, so a setting
// written, even back to its default, makes a unit keep its own copy; nothing is ever shared
// wrongly). Both come from newExecContext, which zeroes the padding.
func shareExec(t Type, c *ExecContext) *ExecContext {
	s := sharedExec(t)
	if c == nil || c == s {
		return c
	}
	const n = unsafe.Sizeof(ExecContext{})
	if *(*[n]byte)(unsafe.Pointer(c)) == *(*[n]byte)(unsafe.Pointer(s)) {
		if checkShare != nil {
			checkShare(c, s)
		}
		return s
	}
	return c
}

// checkShare, set by tests, is told of each context shareExec replaces.
var checkShare func(own, shared *ExecContext)
