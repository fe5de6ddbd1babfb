package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// VideoReader is a source of frames: a device or a media file.
type VideoReader interface {
	// Read blocks for the next frame; release, when not nil, returns its memory.
	Read() (image.Image, func(), error)
	Close() error
}

// AudioReader is a source of packed 16-bit samples.
type AudioReader interface {
	// Read blocks for the next chunk, appending to dst[:0].
	Read(dst []int16) ([]int16, error)
	// Format is the sample rate and channel count of what Read returns.
	Format() (rate, channels int)
	Close() error
}

// Format is the sample rate and channel count of the device's chunks.
func (a *AudioSource) Format() (int, int) { return a.Rate, a.Channels }

// MediaFile plays a media file (anything libav demuxes) as a source, like OBS's
// Media Source: decoded, scaled to the output size, resampled to the output
// audio format, and paced in real time, once or looped.
type MediaFile struct {
	path       string
	loop       bool
	w, h       int
	rate, chns int

	fc                 *astiav.FormatContext
	vidx, aidx         int
	vdec, adec         *astiav.CodecContext
	vtb, atb           astiav.Rational
	sws                *astiav.SoftwareScaleContext
	swr                *astiav.SoftwareResampleContext
	pkt                *astiav.Packet
	frame, scaled, pcm *astiav.Frame
	// mem frees the libav objects above, the decoders whichever they are by
	// then (a loop reopens them) and a scaler made later for another size.
	mem *avmem.Closer

	video chan fileFrame
	audio chan fileChunk
	stop  chan struct{}
	done  chan struct{}
	err   error

	// images are frames at the output size, returned by release. A fixed
	// free list, not a sync.Pool: a pool is emptied by every GC, and each
	// refill is megabytes of fresh memory to fault in and collect again.
	images chan *image.YCbCr
	// batch is decoded sound not yet handed on (see audioBatchesPerSecond).
	batch fileChunk
	// held are Frames for decoded pictures handed on in place; once closed,
	// a Frame released late is freed instead of kept.
	held      chan *Frame
	heldMu    sync.Mutex
	closed    bool
	epochOnce sync.Once
	epoch     time.Time
	closeOnce sync.Once
}

type fileFrame struct {
	img     image.Image
	release func()
	pts     time.Duration
}

type fileChunk struct {
	pcm []int16
	pts time.Duration
}

// OpenFile opens a media file. width and height are the output size; rate and
// channels the output audio format. A file without video or audio has a nil
// Video() or Audio().
func OpenFile(path string, loop bool, width, height, rate, channels int) (*MediaFile, error) {
	m := &MediaFile{path: path, loop: loop, w: width, h: height, rate: rate, chns: channels, vidx: -1, aidx: -1,
		stop: make(chan struct{}), done: make(chan struct{}), images: make(chan *image.YCbCr, 12), held: make(chan *Frame, 12)}
	var mem avmem.Closer
	defer mem.Close() // frees what is allocated when a step fails
	if err := m.open(&mem); err != nil {
		return nil, err
	}
	m.mem = mem.Move()
	if m.vidx >= 0 {
		m.video = make(chan fileFrame, 4)
	}
	if m.aidx >= 0 {
		m.audio = make(chan fileChunk, 64)
	}
	go m.decode()
	return m, nil
}

// open opens the file and its decoders, registering each object on mem.
func (m *MediaFile) open(mem *avmem.Closer) error {
	m.fc = avmem.Own(mem, astiav.AllocFormatContext())
	if err := m.fc.OpenInput(m.path, nil, nil); err != nil {
		return fmt.Errorf("%w: media file %s: %v", ErrNoDevice, m.path, err)
	}
	mem.Add(m.fc.CloseInput)
	if err := m.fc.FindStreamInfo(nil); err != nil {
		return fmt.Errorf("media file %s: %w", m.path, err)
	}
	for _, s := range m.fc.Streams() {
		cp := s.CodecParameters()
		switch {
		case cp.MediaType() == astiav.MediaTypeVideo && m.vidx < 0 && m.w > 0:
			dec, err := openDecoder(cp)
			if err != nil {
				return fmt.Errorf("media file %s: video: %w", m.path, err)
			}
			m.vdec, m.vidx, m.vtb = dec, s.Index(), s.TimeBase()
			mem.Add(func() { freeDecoder(m.vdec) })
		case cp.MediaType() == astiav.MediaTypeAudio && m.aidx < 0 && m.rate > 0:
			dec, err := openDecoder(cp)
			if err != nil {
				return fmt.Errorf("media file %s: audio: %w", m.path, err)
			}
			m.adec, m.aidx, m.atb = dec, s.Index(), s.TimeBase()
			mem.Add(func() { freeDecoder(m.adec) })
		}
	}
	if m.vidx < 0 && m.aidx < 0 {
		return fmt.Errorf("%w: media file %s has no audio or video stream", ErrNoDevice, m.path)
	}
	m.pkt = avmem.Own(mem, astiav.AllocPacket())
	m.frame = avmem.Own(mem, astiav.AllocFrame())
	m.scaled = avmem.Own(mem, astiav.AllocFrame())
	m.pcm = avmem.Own(mem, astiav.AllocFrame())
	m.swr = avmem.Own(mem, astiav.AllocSoftwareResampleContext())
	return nil
}

// freeDecoder frees a decoder that may be gone already: flush leaves nil
// behind when a loop's reopen fails.
func freeDecoder(cc *astiav.CodecContext) {
	if cc != nil {
		cc.Free()
	}
}

func openDecoder(cp *astiav.CodecParameters) (*astiav.CodecContext, error) {
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, fmt.Errorf("no decoder for %s", cp.CodecID())
	}
	cc := astiav.AllocCodecContext(codec)
	if err := cp.ToCodecContext(cc); err != nil {
		cc.Free()
		return nil, err
	}
	if cp.MediaType() == astiav.MediaTypeVideo {
		cc.SetThreadCount(0)
	}
	if err := cc.Open(codec, nil); err != nil {
		cc.Free()
		return nil, err
	}
	return cc, nil
}

// Video is the file's picture as a VideoReader, or nil.
func (m *MediaFile) Video() VideoReader {
	if m.video == nil {
		return nil
	}
	return fileVideo{m}
}

// Audio is the file's sound as an AudioReader, or nil.
func (m *MediaFile) Audio() AudioReader {
	if m.audio == nil {
		return nil
	}
	return fileAudio{m}
}

// wait paces a frame or chunk: both tracks share one epoch, set by the first read.
func (m *MediaFile) wait(pts time.Duration) {
	m.epochOnce.Do(func() { m.epoch = time.Now().Add(-pts) })
	if d := time.Until(m.epoch.Add(pts)); d > 0 {
		select {
		case <-time.After(d):
		case <-m.stop:
		}
	}
}

func (m *MediaFile) endErr() error {
	<-m.done
	if m.err != nil {
		return m.err
	}
	return io.EOF
}

type fileVideo struct{ m *MediaFile }

func (v fileVideo) Read() (image.Image, func(), error) {
	f, ok := <-v.m.video
	if !ok {
		return nil, nil, v.m.endErr()
	}
	v.m.wait(f.pts)
	return f.img, f.release, nil
}

func (v fileVideo) Close() error { return v.m.Close() }

type fileAudio struct{ m *MediaFile }

func (a fileAudio) Read(dst []int16) ([]int16, error) {
	c, ok := <-a.m.audio
	if !ok {
		return dst[:0], a.m.endErr()
	}
	a.m.wait(c.pts)
	return append(dst[:0], c.pcm...), nil
}

func (a fileAudio) Format() (int, int) { return a.m.rate, a.m.chns }
func (a fileAudio) Close() error       { return a.m.Close() }

// decode owns the libav objects: it demuxes, decodes and converts until the
// file ends (or loops forever) or Close is called.
func (m *MediaFile) decode() {
	defer close(m.done)
	defer func() {
		if m.video != nil {
			close(m.video)
		}
		if m.audio != nil {
			close(m.audio)
		}
	}()
	var offset, end time.Duration
	for {
		err := m.fc.ReadFrame(m.pkt)
		if errors.Is(err, astiav.ErrEof) {
			if err := m.flush(offset, &end); err != nil {
				if !errors.Is(err, errStopped) {
					m.err = err
				}
				return
			}
			if !m.loop || end <= 0 {
				return
			}
			if err := m.fc.SeekFrame(-1, 0, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
				m.err = fmt.Errorf("media file %s: loop: %w", m.path, err)
				return
			}
			offset = end
			continue
		}
		if err != nil {
			m.err = fmt.Errorf("media file %s: %w", m.path, err)
			return
		}
		idx := m.pkt.StreamIndex()
		var derr error
		switch idx {
		case m.vidx:
			derr = m.decodeVideo(m.pkt, offset, &end)
		case m.aidx:
			derr = m.decodeAudio(m.pkt, offset, &end)
		}
		m.pkt.Unref()
		if derr != nil {
			if errors.Is(derr, errStopped) {
				return
			}
			m.err = derr
			return
		}
	}
}

var errStopped = errors.New("stopped")

func (m *MediaFile) flush(offset time.Duration, end *time.Duration) error {
	for _, f := range []func() error{
		func() error { return m.decodeVideo(nil, offset, end) },
		func() error { return m.decodeAudio(nil, offset, end) },
		m.sendAudio,
	} {
		if err := f(); err != nil && !errors.Is(err, astiav.ErrEof) {
			return err
		}
	}
	// A drained decoder accepts nothing more; reopen them for the next loop.
	if !m.loop {
		return nil
	}
	streams := m.fc.Streams()
	for _, d := range []struct {
		cc  **astiav.CodecContext
		idx int
	}{{&m.vdec, m.vidx}, {&m.adec, m.aidx}} {
		if *d.cc == nil {
			continue
		}
		(*d.cc).Free()
		cc, err := openDecoder(streams[d.idx].CodecParameters())
		if err != nil {
			*d.cc = nil
			return fmt.Errorf("media file %s: reopen decoder: %w", m.path, err)
		}
		*d.cc = cc
	}
	return nil
}

func (m *MediaFile) decodeVideo(pkt *astiav.Packet, offset time.Duration, end *time.Duration) error {
	if m.vdec == nil {
		return nil
	}
	if err := m.vdec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) && !errors.Is(err, astiav.ErrEagain) {
		return fmt.Errorf("media file %s: decode video: %w", m.path, err)
	}
	for {
		err := m.vdec.ReceiveFrame(m.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("media file %s: decode video: %w", m.path, err)
		}
		pts := offset + tbDuration(m.frame.Pts(), m.vtb)
		img, release, err := m.picture()
		m.frame.Unref()
		if err != nil {
			return err
		}
		*end = max(*end, pts+time.Second/30)
		select {
		case m.video <- fileFrame{img, release, pts}:
		case <-m.stop:
			release()
			return errStopped
		}
	}
}

// picture is the decoded frame at the output size as 4:2:0, and the function
// that gives its memory back. A frame that already has that size and format
// (the usual case) is handed on in place, as a Frame holding its reference:
// no copy here, and none into an encoder of the same size.
func (m *MediaFile) picture() (image.Image, func(), error) {
	if f := m.heldFrame(); f != nil {
		f.av.MoveRef(m.frame)
		if viewFrame(f.YCbCr, f.av) {
			return f, func() { m.releaseFrame(f) }, nil
		}
		m.frame.MoveRef(f.av)
		m.releaseFrame(f)
	}
	img, err := m.toImage()
	if err != nil {
		return nil, nil, err
	}
	return img, func() {
		select {
		case m.images <- img:
		default: // the list is full: let the collector have it
		}
	}, nil
}

// heldFrame is a Frame to hold the decoded frame in place, or nil when the
// frame does not have the output's size and format.
func (m *MediaFile) heldFrame() *Frame {
	src := m.frame
	if src.PixelFormat() != astiav.PixelFormatYuv420P || src.Width() != m.w || src.Height() != m.h {
		return nil
	}
	select {
	case f := <-m.held:
		return f
	default:
		return &Frame{YCbCr: new(image.YCbCr), av: astiav.AllocFrame()}
	}
}

// releaseFrame drops a held picture's reference; the decoder reuses its
// buffer once nothing else holds it.
func (m *MediaFile) releaseFrame(f *Frame) {
	m.heldMu.Lock()
	defer m.heldMu.Unlock()
	f.av.Unref()
	// A holder that broke the rule and reads on finds no pixels, not freed memory.
	*f.YCbCr = image.YCbCr{}
	if !m.closed {
		select {
		case m.held <- f:
			return
		default:
		}
	}
	f.av.Free()
}

// toImage scales the decoded frame to the output size as 4:2:0, into Go memory.
func (m *MediaFile) toImage() (*image.YCbCr, error) {
	var img *image.YCbCr
	select {
	case img = <-m.images:
	default:
		img = image.NewYCbCr(image.Rect(0, 0, m.w, m.h), image.YCbCrSubsampleRatio420)
	}
	// A file already at the output's size and format (the usual case) needs
	// no scaler: one copy out of the decoder's frame is all.
	src := m.frame
	if src.PixelFormat() != astiav.PixelFormatYuv420P || src.Width() != m.w || src.Height() != m.h {
		if m.sws == nil {
			sws, err := astiav.CreateSoftwareScaleContext(src.Width(), src.Height(), src.PixelFormat(),
				m.w, m.h, astiav.PixelFormatYuv420P, astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
			if err != nil {
				return nil, fmt.Errorf("media file %s: scaler: %w", m.path, err)
			}
			m.sws = avmem.Own(m.mem, sws)
		}
		if err := m.sws.ScaleFrame(src, m.scaled); err != nil {
			return nil, fmt.Errorf("media file %s: scale: %w", m.path, err)
		}
		src = m.scaled
		defer m.scaled.Unref()
	}
	if err := copyFrameTo(img, src); err != nil {
		return nil, fmt.Errorf("media file %s: %w", m.path, err)
	}
	return img, nil
}

func (m *MediaFile) decodeAudio(pkt *astiav.Packet, offset time.Duration, end *time.Duration) error {
	if m.adec == nil {
		return nil
	}
	if err := m.adec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) && !errors.Is(err, astiav.ErrEagain) {
		return fmt.Errorf("media file %s: decode audio: %w", m.path, err)
	}
	layout := astiav.ChannelLayoutStereo
	if m.chns == 1 {
		layout = astiav.ChannelLayoutMono
	}
	for {
		err := m.adec.ReceiveFrame(m.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("media file %s: decode audio: %w", m.path, err)
		}
		pts := offset + tbDuration(m.frame.Pts(), m.atb)
		// A file that does not name its channels (a WAV without a channel
		// mask: "2 channels", order unspecified) would make the resampler
		// fail with "input changed" once it has chosen a layout for them.
		switch m.frame.ChannelLayout().Channels() {
		case 1:
			m.frame.SetChannelLayout(astiav.ChannelLayoutMono)
		case 2:
			m.frame.SetChannelLayout(astiav.ChannelLayoutStereo)
		}
		m.pcm.Unref()
		m.pcm.SetChannelLayout(layout)
		m.pcm.SetSampleFormat(astiav.SampleFormatS16)
		m.pcm.SetSampleRate(m.rate)
		err = m.swr.ConvertFrame(m.frame, m.pcm)
		m.frame.Unref()
		if err != nil {
			return fmt.Errorf("media file %s: resample: %w", m.path, err)
		}
		n := m.pcm.NbSamples() * m.chns
		if n == 0 {
			continue
		}
		b, _ := avmem.Plane(m.pcm, 0, 1)
		if len(b) < 2*n {
			return fmt.Errorf("media file %s: resampler gave %d bytes for %d samples", m.path, len(b), n)
		}
		if len(m.batch.pcm) == 0 {
			m.batch.pts = pts
		}
		m.batch.pcm = append(m.batch.pcm, unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), n)...)
		*end = max(*end, pts+time.Duration(m.pcm.NbSamples())*time.Second/time.Duration(m.rate))
		if len(m.batch.pcm) >= m.rate/audioBatchesPerSecond*m.chns {
			if err := m.sendAudio(); err != nil {
				return err
			}
		}
	}
}

// audioBatchesPerSecond sets how finely a file's sound is handed on: in
// pieces of a tenth of a second rather than the decoder's 1024-sample frames.
// Every piece wakes each goroutine it passes through (source, level meter,
// session, encoder), and a file's sound exists in advance, so larger pieces
// cost less and still come in time: a piece goes out when its first sample is due.
const audioBatchesPerSecond = 10

// sendAudio hands on the sound gathered so far.
func (m *MediaFile) sendAudio() error {
	if len(m.batch.pcm) == 0 {
		return nil
	}
	c := m.batch
	m.batch = fileChunk{pcm: make([]int16, 0, cap(c.pcm))}
	select {
	case m.audio <- c:
		return nil
	case <-m.stop:
		return errStopped
	}
}

func tbDuration(v int64, tb astiav.Rational) time.Duration {
	if tb.Den() == 0 {
		return 0
	}
	return time.Duration(v) * time.Second * time.Duration(tb.Num()) / time.Duration(tb.Den())
}

// Close stops decoding and frees libav's objects. Both readers share it.
func (m *MediaFile) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		// Every send in decode also waits on stop, so it leaves promptly.
		<-m.done
		// Pictures decoded but never read hold decoder buffers: give them back.
		if m.video != nil {
			for f := range m.video {
				f.release()
			}
		}
		m.heldMu.Lock()
		m.closed = true
		for len(m.held) > 0 {
			(<-m.held).av.Free()
		}
		m.heldMu.Unlock()
		m.mem.Close()
	})
	return nil
}
