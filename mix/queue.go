package mix

// queue is a strip's FIFO of processed program-format frames (stereo float,
// interleaved) between its source's goroutine and Mix: a ring of fixed size,
// allocated once, that drops its oldest blocks rather than grow.
type queue struct {
	buf  []float32 // Channels × capacity frames
	head int       // the oldest frame
	n    int       // frames held
}

func newQueue(frames int) queue { return queue{buf: make([]float32, Channels*frames)} }

func (q *queue) capacity() int { return len(q.buf) / Channels }

// write appends the frames of f (interleaved stereo). When they do not fit,
// the oldest frames go first, a block at a time, and write returns how many
// blocks it dropped.
func (q *queue) write(f []float32) (dropped int) {
	c := q.capacity()
	n := len(f) / Channels
	if n > c { // more than the whole queue: only its newest part can stay
		dropped += (q.n + n - c + BlockFrames - 1) / BlockFrames
		q.n, q.head = 0, 0
		f = f[Channels*(n-c):]
		n = c
	}
	for q.n+n > c {
		k := min(BlockFrames, q.n)
		q.skip(k)
		dropped++
	}
	tail := (q.head + q.n) % c
	k := copy(q.buf[Channels*tail:], f[:Channels*n])
	copy(q.buf, f[k:Channels*n])
	q.n += n
	return dropped
}

// read moves the oldest len(dst)/Channels frames into dst; the caller checks
// that the queue holds them.
func (q *queue) read(dst []float32) {
	c := q.capacity()
	n := len(dst) / Channels
	k := copy(dst, q.buf[Channels*q.head:min(len(q.buf), Channels*(q.head+n))])
	copy(dst[k:], q.buf[:Channels*n-k])
	q.head = (q.head + n) % c
	q.n -= n
}

// skip drops the oldest n frames.
func (q *queue) skip(n int) {
	n = min(n, q.n)
	q.head = (q.head + n) % q.capacity()
	q.n -= n
	if q.n == 0 {
		q.head = 0
	}
}
