package manager

import (
	"iter"
	"slices"
)

// revIndex maps a key (a unit, a unit name) to a list of units: the reverse edges of the
// ordering and references (orderIndex, Manager.refBy). Most lists hold one unit (a socket
// names its service, a target wants the socket): those are in one, 8 bytes a key beside
// it, and only the longer lists are slices in many. A key is in one of the maps at most.
type revIndex[K comparable] struct {
	one  map[K]*Unit
	many map[K][]*Unit
}

// get is k's list: buf holds it when it is one unit long (no allocation for the caller's
// range over it). The list is the index's own, as a map's value was: not to be changed.
func (x *revIndex[K]) get(k K, buf *[1]*Unit) []*Unit {
	if u, ok := x.one[k]; ok {
		buf[0] = u
		return buf[:]
	}
	return x.many[k]
}

// last is the last unit of k's list, nil if none.
func (x *revIndex[K]) last(k K) *Unit {
	if u, ok := x.one[k]; ok {
		return u
	}
	if l := x.many[k]; len(l) > 0 {
		return l[len(l)-1]
	}
	return nil
}

// add appends us to k's list.
func (x *revIndex[K]) add(k K, us ...*Unit) {
	if len(us) == 0 {
		return
	}
	if x.one == nil {
		x.one, x.many = map[K]*Unit{}, map[K][]*Unit{}
	}
	if u, ok := x.one[k]; ok {
		delete(x.one, k)
		x.many[k] = append([]*Unit{u}, us...)
	} else if l, ok := x.many[k]; ok {
		x.many[k] = append(l, us...)
	} else if len(us) == 1 {
		x.one[k] = us[0]
	} else {
		x.many[k] = slices.Clone(us)
	}
}

// remove takes every u out of k's list; an empty list goes.
func (x *revIndex[K]) remove(k K, u *Unit) {
	if v, ok := x.one[k]; ok {
		if v == u {
			delete(x.one, k)
		}
		return
	}
	l, ok := x.many[k]
	if !ok {
		return
	}
	switch l = slices.DeleteFunc(l, func(y *Unit) bool { return y == u }); len(l) {
	case 0:
		delete(x.many, k)
	case 1:
		delete(x.many, k)
		x.one[k] = l[0]
	default:
		x.many[k] = l
	}
}

// del forgets k's list.
func (x *revIndex[K]) del(k K) {
	delete(x.one, k)
	delete(x.many, k)
}

// all yields every key and its list (a list of one in a slice of its own): for tests.
func (x *revIndex[K]) all() iter.Seq2[K, []*Unit] {
	return func(yield func(K, []*Unit) bool) {
		for k, u := range x.one {
			if !yield(k, []*Unit{u}) {
				return
			}
		}
		for k, l := range x.many {
			if !yield(k, l) {
				return
			}
		}
	}
}
