//go:build !unix && !windows

package cputime

import "time"

// Process is 0 where there is no per-process CPU accounting to read (js,
// wasip1, plan9): the stats then show 0 % CPU rather than failing to build.
func Process() time.Duration { return 0 }
