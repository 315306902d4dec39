// Package structured holds the Go side of bench/compare's structured-concurrency benchmarks
// (benches/structured.rs): a scope of 8 goroutines, and errgroup.
//
// golang.org/x/sync cannot be downloaded here (bench/go builds with GOPROXY=off, standard
// library only), so this file carries a minimal errgroup: the same algorithm as
// golang.org/x/sync/errgroup's Group (a WaitGroup, the first error kept under a sync.Once that
// also cancels the derived context, and a buffered channel as the SetLimit semaphore), without
// its panic propagation, which the benchmarks never exercise.
package structured

import (
	"context"
	"fmt"
	"sync"
)

type token struct{}

// Group is errgroup.Group.
type Group struct {
	cancel func(error)

	wg sync.WaitGroup

	sem chan token

	errOnce sync.Once
	err     error
}

func (g *Group) done() {
	if g.sem != nil {
		<-g.sem
	}
	g.wg.Done()
}

// WithContext is errgroup.WithContext.
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{cancel: cancel}, ctx
}

// Wait is errgroup.Group.Wait.
func (g *Group) Wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(g.err)
	}
	return g.err
}

// Go is errgroup.Group.Go.
func (g *Group) Go(f func() error) {
	if g.sem != nil {
		g.sem <- token{}
	}
	g.wg.Add(1)
	go func() {
		defer g.done()
		if err := f(); err != nil {
			g.errOnce.Do(func() {
				g.err = err
				if g.cancel != nil {
					g.cancel(g.err)
				}
			})
		}
	}()
}

// TryGo is errgroup.Group.TryGo.
func (g *Group) TryGo(f func() error) bool {
	if g.sem != nil {
		select {
		case g.sem <- token{}:
		default:
			return false
		}
	}
	g.wg.Add(1)
	go func() {
		defer g.done()
		if err := f(); err != nil {
			g.errOnce.Do(func() {
				g.err = err
				if g.cancel != nil {
					g.cancel(g.err)
				}
			})
		}
	}()
	return true
}

// SetLimit is errgroup.Group.SetLimit.
func (g *Group) SetLimit(n int) {
	if n < 0 {
		g.sem = nil
		return
	}
	if len(g.sem) != 0 {
		panic(fmt.Errorf("errgroup: modify limit while %v goroutines in the group are still active", len(g.sem)))
	}
	g.sem = make(chan token, n)
}
