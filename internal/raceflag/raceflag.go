// Package raceflag tells tests whether the race detector is on. Under it the
// process runs several times slower, so tests that judge real-time pacing
// (timestamp gaps, A/V drift) still run their code for races but leave the
// judging to the tier without it (`make test` runs both).
package raceflag
