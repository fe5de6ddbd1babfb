package encode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/avmem"
)

// VideoConfig describes the video encode.
type VideoConfig struct {
	// Encoder is libav's encoder name: "libx264" (the default), "libx265",
	// "libsvtav1", or another H.264, HEVC or AV1 encoder libav has.
	Encoder          string
	Width, Height    int
	FPS              int
	Bitrate          int           // bits per second, constant
	KeyframeInterval time.Duration // time between keyframes
	// Preset is one of x264's names, ultrafast to placebo, default
	// "veryfast"; libx265 takes the same, libsvtav1 the nearest of its
	// numbered presets (options.go) or a number from -2 to 13.
	Preset string
	// Tune is x264's or x265's tuning, e.g. "zerolatency", empty for none;
	// SVT-AV1 is always encoded for low delay and ignores it.
	Tune    string
	Profile string // H.264 only: "baseline", "main", "high"; default "high"
	BFrames int    // 0 for none; SVT-AV1's low-delay structure has none
	Threads int    // 0: libav chooses
	// Adjustable keeps the bitrate changeable with SetBitrate. x264 cannot
	// change rate under NAL HRD signalling, so the stream is CBR by its rate
	// control (maxrate = bufsize = bitrate) without the HRD flags. libx265
	// and libsvtav1 keep their first rate either way (SetBitrate).
	Adjustable bool
	// CallerKeyframes: the caller forces every keyframe, on its own clock,
	// so that renditions of one program cut together (see app's
	// keyframes.go). The encoder's own cadence is then twice
	// KeyframeInterval, a bound the caller's keyframes come before. SVT-AV1,
	// which forces a keyframe only by restarting, keeps its cadence at
	// KeyframeInterval: the caller's keyframes fall on it unless frames were
	// skipped, and cost no restart there.
	CallerKeyframes bool
}

// GOPFrames is KeyframeInterval in frames at fps, at least one.
func GOPFrames(keyint time.Duration, fps int) int {
	return max(int(keyint.Seconds()*float64(fps)+0.5), 1)
}

// Packet is one encoded access unit, copied out of libav.
type Packet struct {
	// Data is Annex-B for H.264 and HEVC, a temporal unit of low-overhead
	// OBUs (temporal delimiter first) for AV1, raw frames for AAC.
	Data     []byte
	PTS, DTS time.Duration // from the start of the stream
	Keyframe bool
}

// VideoEncoder encodes YCbCr 4:2:0 frames at a constant frame rate, into
// H.264, HEVC or AV1 with keyframes exactly every KeyframeInterval (closed
// GOPs, no scene-cut keyframes) and when asked, at a constant bitrate, with
// out-of-band headers (Extradata, ConfigRecord) and BT.709 colour tags.
type VideoEncoder struct {
	cfg   VideoConfig
	codec *astiav.Codec
	cc    *astiav.CodecContext
	// ccMem frees cc; a restart (see Encode) replaces both.
	ccMem *avmem.Closer
	frame *astiav.Frame
	// ref references a source's own frame (AVFramer) for one encode.
	ref *astiav.Frame
	pkt *astiav.Packet
	tb  astiav.Rational
	gop int // frames from one keyframe to the next
	// sinceKey counts the frames sent since the last keyframe, that one
	// included: at gop, the encoder makes the next frame a keyframe itself.
	sinceKey int
	// restarts counts fresh codec contexts taken for forced keyframes.
	restarts int
	// quirks are what this encoder needs done its own way (options.go).
	quirks quirks
	// sent and ended say whether cc has been sent a frame and the end of
	// the stream.
	sent, ended bool
	conv        converter
	sei         []byte
	// wantBitrate is a bitrate asked for by SetBitrate, applied by Encode on
	// the encoding goroutine; bitrate is the one in force.
	wantBitrate atomic.Int64
	bitrate     int64
	// extradata and record (the FLV configuration record, or why there is
	// none) are read once at open, so that they stay the same, and safe to
	// read from any goroutine, when a restart replaces cc.
	extradata []byte
	record    []byte
	recordErr error
	// params are the stream's codec parameters, for a recording started at
	// any time from any goroutine (NewRecorder).
	params *astiav.CodecParameters
	mem    *avmem.Closer // frees cc (through ccMem), frame, ref, pkt and conv's objects
}

// ErrEncoderUnavailable is returned when the asked-for encoder is not built into
// libav or does not open on this machine (a missing GPU, say).
var ErrEncoderUnavailable = errors.New("encoder not available")

// NewVideoEncoder opens the encoder. Close releases it.
func NewVideoEncoder(cfg VideoConfig) (*VideoEncoder, error) {
	if cfg.Encoder == "" {
		cfg.Encoder = "libx264"
	}
	if cfg.Preset == "" {
		cfg.Preset = "veryfast"
	}
	if cfg.Profile == "" {
		cfg.Profile = "high"
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("encode: size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	if cfg.FPS <= 0 || cfg.FPS > 240 {
		return nil, fmt.Errorf("encode: frame rate %d out of range 1..240", cfg.FPS)
	}
	if cfg.Bitrate < 100_000 {
		return nil, fmt.Errorf("encode: video bitrate %d b/s is below 100 kb/s", cfg.Bitrate)
	}
	codec := astiav.FindEncoderByName(cfg.Encoder)
	if codec == nil {
		return nil, fmt.Errorf("%w: %s is not in this FFmpeg build", ErrEncoderUnavailable, cfg.Encoder)
	}
	e := &VideoEncoder{cfg: cfg, codec: codec, tb: astiav.NewRational(1, cfg.FPS), bitrate: int64(cfg.Bitrate),
		gop: GOPFrames(cfg.KeyframeInterval, cfg.FPS), quirks: quirksOf(cfg.Encoder)}
	if cfg.CallerKeyframes && !e.quirks.restartForKey {
		e.gop *= 2
	}
	var mem avmem.Closer
	defer mem.Close() // frees what is allocated when a step fails
	if err := e.open(&mem); err != nil {
		return nil, err
	}
	e.mem = mem.Move()
	return e, nil
}

// open allocates and opens the encoder's objects, each registered on mem.
func (e *VideoEncoder) open(mem *avmem.Closer) error {
	cfg := e.cfg
	// The frame and packet first: closing the codec context may take both
	// (closeCodec), so they are freed after it.
	e.frame = avmem.Own(mem, astiav.AllocFrame())
	e.frame.SetWidth(cfg.Width)
	e.frame.SetHeight(cfg.Height)
	e.frame.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := e.frame.AllocBuffer(0); err != nil {
		return fmt.Errorf("encode: frame buffer: %w", err)
	}
	e.ref = avmem.Own(mem, astiav.AllocFrame())
	e.pkt = avmem.Own(mem, astiav.AllocPacket())
	// The converter allocates as sources need it, on a Closer of its own.
	mem.Add(e.conv.close)

	var err error
	if e.cc, e.ccMem, err = e.openCodec(); err != nil {
		return err
	}
	mem.Add(e.closeCodec)
	if e.params, err = codecParameters(mem, e.cc); err != nil {
		return err
	}
	e.extradata = bytes.Clone(e.cc.ExtraData())
	e.record, e.recordErr = configRecord(e.cc)
	return nil
}

// closeCodec frees the codec context in force. SVT-AV1 1.4 hangs for good
// freeing an encoder that was never sent a frame, or draining one that was
// sent only the end of the stream, and complains when freed before the end:
// such an encoder is sent a frame and the end, and what comes out is dropped.
func (e *VideoEncoder) closeCodec() {
	if e.quirks.endBeforeFree && !e.ended {
		if !e.sent {
			e.frame.SetPts(0)
			_ = e.send(e.frame)
		}
		_ = e.Flush(func(Packet) {})
	}
	e.ccMem.Close()
}

// openCodec opens a codec context as the configuration asks, at the bitrate
// in force; the Closer returned frees it.
func (e *VideoEncoder) openCodec() (*astiav.CodecContext, *avmem.Closer, error) {
	cfg := e.cfg
	var mem avmem.Closer
	defer mem.Close() // frees the context when a step fails
	cc := avmem.Own(&mem, astiav.AllocCodecContext(e.codec))
	if cc == nil {
		return nil, nil, errors.New("encode: cannot allocate codec context")
	}
	cc.SetWidth(cfg.Width)
	cc.SetHeight(cfg.Height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(e.tb)
	cc.SetFramerate(astiav.NewRational(cfg.FPS, 1))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	setRate(cc, cfg.Encoder, e.bitrate)
	cc.SetGopSize(e.gop)
	cc.SetMaxBFrames(cfg.BFrames)
	if cfg.Threads > 0 {
		cc.SetThreadCount(cfg.Threads)
	}
	// Parameter sets (the sequence header) out of band, for the FLV sequence
	// header; closed GOPs, so that every keyframe is a point a reconnect, or
	// a player switching renditions, can start decoding at.
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader).Add(astiav.CodecContextFlagClosedGop))
	cc.SetColorRange(astiav.ColorRangeMpeg)
	cc.SetColorSpace(astiav.ColorSpaceBt709)
	cc.SetColorPrimaries(astiav.ColorPrimariesBt709)
	cc.SetColorTransferCharacteristic(astiav.ColorTransferCharacteristicBt709)

	opts, err := encoderOptions(cfg, e.codec, e.gop)
	if err != nil {
		return nil, nil, err
	}
	defer opts.Free()
	if err := cc.Open(e.codec, opts); err != nil {
		return nil, nil, fmt.Errorf("%w: %s does not open: %v", ErrEncoderUnavailable, cfg.Encoder, err)
	}
	return cc, mem.Move(), nil
}

// setRate asks cc for a constant rate of bps: bit_rate = maxrate = bufsize
// (a one-second buffer). SVT-AV1 1.4 refuses a maxrate that is not above the
// target, and FFmpeg's wrapper reads maxrate = bit_rate as asking for CBR,
// so libsvtav1 gets no maxrate and is told CBR in its own terms (options.go).
func setRate(cc *astiav.CodecContext, encoder string, bps int64) {
	cc.SetBitRate(bps)
	if encoder != "libsvtav1" {
		cc.SetRateControlMaxRate(bps)
		cc.SetRateControlMinRate(bps)
	}
	cc.SetRateControlBufferSize(int(bps))
}

// Codec is the codec the encoder makes: "h264", "hevc" or "av1".
func (e *VideoEncoder) Codec() string {
	if c, ok := streamCodecs[e.codec.ID()]; ok {
		return c
	}
	return e.codec.ID().Name()
}

// ConfigRecord is the codec configuration record an FLV or Enhanced RTMP
// sequence header carries: the AVCDecoderConfigurationRecord for H.264,
// HEVCDecoderConfigurationRecord (hvcC) for HEVC, AV1CodecConfigurationRecord
// (av1C) for AV1, as libavformat's FLV muxer writes them (configrecord.go).
func (e *VideoEncoder) ConfigRecord() ([]byte, error) {
	if e.recordErr != nil {
		return nil, e.recordErr
	}
	return bytes.Clone(e.record), nil
}

// Extradata is the encoder's out-of-band headers: Annex-B parameter sets for
// H.264 (SPS, PPS) and HEVC (VPS, SPS, PPS), the sequence header OBU for AV1.
func (e *VideoEncoder) Extradata() []byte { return bytes.Clone(e.extradata) }

// SetBitrate changes the target bitrate (b/s) from the next frame on; it is
// safe to call from any goroutine. libx264 changes rate mid-stream; libx265
// and libsvtav1 cannot (FFmpeg's wrappers read the rate only when they open),
// so they keep their first rate and Bitrate still reports it.
func (e *VideoEncoder) SetBitrate(bps int) {
	if !e.quirks.fixedRate {
		e.wantBitrate.Store(int64(bps))
	}
}

// Bitrate is the target bitrate in force.
func (e *VideoEncoder) Bitrate() int {
	if b := e.wantBitrate.Load(); b > 0 {
		return int(b)
	}
	return e.cfg.Bitrate
}

// Config is the configuration the encoder was opened with, defaults filled in.
func (e *VideoEncoder) Config() VideoConfig { return e.cfg }

// Encode encodes one frame with presentation index n (frames since the start) and
// passes every packet that comes out to emit. forceKey asks for an IDR frame.
// Frames of another size or format (4:2:2, RGBA, …) are converted first.
// captured, when not zero, is when the frame was captured: it travels in the
// bitstream (flv.CaptureTimeSEI) so a receiver can measure end-to-end latency.
func (e *VideoEncoder) Encode(img image.Image, n int64, forceKey bool, captured time.Time, emit func(Packet)) error {
	if b := e.wantBitrate.Load(); b > 0 && b != e.bitrate {
		// libx264 reconfigures its rate control when these change between frames.
		setRate(e.cc, e.cfg.Encoder, b)
		e.bitrate = b
	}
	if forceKey && e.quirks.restartForKey {
		// A restart costs an encoder's start-up; where the cadence puts a
		// keyframe anyway, as it does on every aligned one, none is needed.
		if e.sent && e.sinceKey < e.gop {
			if err := e.restart(emit); err != nil {
				return err
			}
		}
		forceKey = false // a fresh encoder starts with one
	}
	key := forceKey || !e.sent || e.sinceKey >= e.gop
	frame, err := e.input(img)
	if err != nil {
		return err
	}
	var sei []byte
	if !captured.IsZero() {
		sei = flv.AppendCaptureTime(e.sei[:0], captured)
		e.sei = sei
	}
	if err := avmem.SetSEI(frame, sei); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	frame.SetPts(n)
	if forceKey {
		frame.SetPictureType(astiav.PictureTypeI)
	} else {
		frame.SetPictureType(astiav.PictureTypeNone)
	}
	err = e.send(frame)
	if frame == e.ref {
		// The encoder took its own reference, if it needed one.
		e.ref.Unref()
	}
	if err != nil {
		return fmt.Errorf("encode video: %w", err)
	}
	if key {
		e.sinceKey = 1
	} else {
		e.sinceKey++
	}
	return e.drain(emit)
}

// AVFramer is an image whose pixels live in a libav frame, such as a decoded
// media file's (capture.Frame). An encoder of the same size and format
// references that frame rather than copying it.
type AVFramer interface {
	AVFrame() *astiav.Frame
}

// input is the frame to encode img from: a reference to img's own frame when
// it fits, else the encoder's frame with img copied or converted into it.
func (e *VideoEncoder) input(img image.Image) (*astiav.Frame, error) {
	if f, ok := img.(AVFramer); ok {
		src := f.AVFrame()
		if src.PixelFormat() == e.frame.PixelFormat() && src.Width() == e.frame.Width() && src.Height() == e.frame.Height() {
			if err := e.ref.Ref(src); err != nil {
				return nil, fmt.Errorf("encode: reference frame: %w", err)
			}
			return e.ref, nil
		}
		if err := e.conv.fillFrame(e.frame, src); err != nil {
			return nil, err
		}
		return e.frame, nil
	}
	if err := e.conv.fill(e.frame, img); err != nil {
		return nil, err
	}
	return e.frame, nil
}

// send sends a frame to the codec context in force.
func (e *VideoEncoder) send(frame *astiav.Frame) error {
	e.sent = true
	return e.cc.SendFrame(frame)
}

// Flush drains the frames the encoder still holds (B-frames, lookahead).
func (e *VideoEncoder) Flush(emit func(Packet)) error {
	if !e.sent && e.quirks.endBeforeFree {
		return nil // holds nothing, and would wait for good (closeCodec)
	}
	e.ended = true
	if err := e.cc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush video: %w", err)
	}
	return e.drain(emit)
}

// restart drains the codec context and replaces it with a fresh one, whose
// first frame is a keyframe and whose cadence of keyframes starts there (as
// x264's and x265's does after a forced IDR). The fresh one has the same
// parameters, so the same headers and configuration record. It costs what
// opening does: about a quarter of a second for SVT-AV1 at 720p.
func (e *VideoEncoder) restart(emit func(Packet)) error {
	if err := e.Flush(emit); err != nil {
		return err
	}
	cc, mem, err := e.openCodec()
	if err != nil {
		return fmt.Errorf("encode: restart for a keyframe: %w", err)
	}
	old := e.ccMem
	e.cc, e.ccMem, e.sent, e.ended = cc, mem, false, false
	e.restarts++
	old.Close()
	return nil
}

func (e *VideoEncoder) drain(emit func(Packet)) error {
	for {
		err := e.cc.ReceivePacket(e.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode video: %w", err)
		}
		emit(e.packet())
	}
}

func (e *VideoEncoder) packet() Packet {
	defer e.pkt.Unref()
	return Packet{
		Data:     append([]byte(nil), e.pkt.Data()...),
		PTS:      ticks(e.pkt.Pts(), e.tb),
		DTS:      ticks(e.pkt.Dts(), e.tb),
		Keyframe: e.pkt.Flags().Has(astiav.PacketFlagKey),
	}
}

// ticks converts a timestamp in time base tb to a duration.
func ticks(v int64, tb astiav.Rational) time.Duration {
	return time.Duration(v) * time.Second * time.Duration(tb.Num()) / time.Duration(tb.Den())
}

// Close frees everything the encoder allocated. Safe to call twice.
func (e *VideoEncoder) Close() { e.mem.Close() }
