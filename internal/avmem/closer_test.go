package avmem

import (
	"reflect"
	"sync"
	"testing"
)

func TestCloserRunsInReverseOnce(t *testing.T) {
	var c Closer
	var got []int
	for i := range 3 {
		c.Add(func() { got = append(got, i) })
	}
	c.Close()
	if want := []int{2, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	c.Close()
	if len(got) != 3 {
		t.Fatalf("a second Close ran them again: %v", got)
	}
}

func TestCloserAddAfterCloseRunsAtOnce(t *testing.T) {
	var c Closer
	c.Close()
	ran := 0
	c.Add(func() { ran++ })
	if ran != 1 {
		t.Fatalf("added after Close: ran %d times, want 1 at once", ran)
	}
	c.Close()
	if ran != 1 {
		t.Fatalf("ran %d times after a second Close", ran)
	}
}

func TestCloserNilAndZeroClose(t *testing.T) {
	var nilCloser *Closer
	nilCloser.Close()
	var zero Closer
	zero.Close()
	zero.Close()
}

// A constructor's closer hands what it holds to the object on success: its
// deferred Close then frees nothing, and the object's Close frees it all.
func TestCloserMoveHandsOwnership(t *testing.T) {
	var got []string
	build := func(fail bool) *Closer {
		var mem Closer
		defer mem.Close()
		mem.Add(func() { got = append(got, "a") })
		mem.Add(func() { got = append(got, "b") })
		if fail {
			return nil
		}
		return mem.Move()
	}
	owner := build(false)
	if len(got) != 0 {
		t.Fatalf("the constructor freed what it handed on: %v", got)
	}
	owner.Close()
	owner.Close()
	if want := []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("owner freed %v, want %v", got, want)
	}
	got = nil
	if build(true) != nil || !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("a failed constructor freed %v, want [b a]", got)
	}
}

type freer struct{ n *int }

func (f *freer) Free() { *f.n++ }

func TestOwnRegistersFreeAndSkipsNil(t *testing.T) {
	var c Closer
	n := 0
	f := &freer{&n}
	if Own(&c, f) != f {
		t.Fatal("Own did not return what it was given")
	}
	if Own(&c, (*freer)(nil)) != nil {
		t.Fatal("Own of nil is not nil")
	}
	c.Close() // a registered nil would panic here
	c.Close()
	if n != 1 {
		t.Fatalf("freed %d times, want 1", n)
	}
}

func TestCloserConcurrentCloseRunsEachOnce(t *testing.T) {
	var c Closer
	var mu sync.Mutex
	ran := 0
	for range 100 {
		c.Add(func() { mu.Lock(); ran++; mu.Unlock() })
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(c.Close)
	}
	wg.Wait()
	if ran != 100 {
		t.Fatalf("ran %d, want 100", ran)
	}
}
