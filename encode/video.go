package encode

import (
	"errors"
	"fmt"
	"image"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/avmem"
)

// VideoConfig describes the video encode.
type VideoConfig struct {
	Encoder          string // libav encoder name; default "libx264"
	Width, Height    int
	FPS              int
	Bitrate          int           // bits per second, constant
	KeyframeInterval time.Duration // time between keyframes
	Preset           string        // x264 preset, default "veryfast"
	Tune             string        // e.g. "zerolatency", empty for none
	Profile          string        // "baseline", "main", "high"; default "high"
	BFrames          int           // 0 for none
	Threads          int           // 0: libav chooses
	// Adjustable keeps the bitrate changeable with SetBitrate. x264 cannot
	// change rate under NAL HRD signalling, so the stream is CBR by its rate
	// control (maxrate = bufsize = bitrate) without the HRD flags.
	Adjustable bool
}

// Packet is one encoded access unit, copied out of libav.
type Packet struct {
	Data     []byte        // Annex-B for H.264, raw frames for AAC
	PTS, DTS time.Duration // from the start of the stream
	Keyframe bool
}

// VideoEncoder encodes YCbCr 4:2:0 frames at a constant frame rate.
type VideoEncoder struct {
	cfg   VideoConfig
	cc    *astiav.CodecContext
	frame *astiav.Frame
	// ref references a source's own frame (AVFramer) for one encode.
	ref  *astiav.Frame
	pkt  *astiav.Packet
	tb   astiav.Rational
	conv converter
	sei  []byte
	// wantBitrate is a bitrate asked for by SetBitrate, applied by Encode on
	// the encoding goroutine; bitrate is the one in force.
	wantBitrate atomic.Int64
	bitrate     int64
	mem         *avmem.Closer // frees cc, frame, ref, pkt and conv's objects
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
	e := &VideoEncoder{cfg: cfg, tb: astiav.NewRational(1, cfg.FPS)}
	var mem avmem.Closer
	defer mem.Close() // frees what is allocated when a step fails
	if err := e.open(codec, &mem); err != nil {
		return nil, err
	}
	e.mem = mem.Move()
	return e, nil
}

// open allocates and opens the encoder's objects, each registered on mem.
func (e *VideoEncoder) open(codec *astiav.Codec, mem *avmem.Closer) error {
	cfg := e.cfg
	e.cc = avmem.Own(mem, astiav.AllocCodecContext(codec))
	if e.cc == nil {
		return errors.New("encode: cannot allocate codec context")
	}
	e.cc.SetWidth(cfg.Width)
	e.cc.SetHeight(cfg.Height)
	e.cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	e.cc.SetTimeBase(e.tb)
	e.cc.SetFramerate(astiav.NewRational(cfg.FPS, 1))
	e.cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	// CBR, as ingests ask: bit_rate = maxrate = bufsize.
	e.bitrate = int64(cfg.Bitrate)
	e.cc.SetBitRate(int64(cfg.Bitrate))
	e.cc.SetRateControlMaxRate(int64(cfg.Bitrate))
	e.cc.SetRateControlMinRate(int64(cfg.Bitrate))
	e.cc.SetRateControlBufferSize(cfg.Bitrate)
	gop := max(int(cfg.KeyframeInterval.Seconds()*float64(cfg.FPS)+0.5), 1)
	e.cc.SetGopSize(gop)
	e.cc.SetMaxBFrames(cfg.BFrames)
	if cfg.Threads > 0 {
		e.cc.SetThreadCount(cfg.Threads)
	}
	// Parameter sets out of band, for the FLV sequence header.
	e.cc.SetFlags(e.cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	e.cc.SetColorRange(astiav.ColorRangeMpeg)
	e.cc.SetColorSpace(astiav.ColorSpaceBt709)
	e.cc.SetColorPrimaries(astiav.ColorPrimariesBt709)
	e.cc.SetColorTransferCharacteristic(astiav.ColorTransferCharacteristicBt709)

	opts := astiav.NewDictionary()
	defer opts.Free()
	set := func(k, v string) {
		if v != "" {
			_ = opts.Set(k, v, 0)
		}
	}
	if cfg.Encoder == "libx264" {
		set("preset", cfg.Preset)
		set("tune", cfg.Tune)
		set("profile", cfg.Profile)
		// Keyframes exactly every gop frames (no scene-cut keyframes, which ingests
		// count against the interval), HRD-conformant CBR, and forced keyframes as IDR
		// so a reconnect can start a clean GOP.
		params := "keyint=" + strconv.Itoa(gop) + ":min-keyint=" + strconv.Itoa(gop) + ":scenecut=0:force-cfr=1"
		if !cfg.Adjustable {
			params += ":nal-hrd=cbr"
		}
		set("x264-params", params)
		set("forced-idr", "1")
		set("udu_sei", "1") // carry the capture-time SEI (see Encode)
	} else if codec.ID() == astiav.CodecIDH264 {
		set("profile", cfg.Profile)
	}
	if err := e.cc.Open(codec, opts); err != nil {
		return fmt.Errorf("%w: %s does not open: %v", ErrEncoderUnavailable, cfg.Encoder, err)
	}

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
	return nil
}

// Extradata is the encoder's parameter sets (Annex-B SPS and PPS for libx264).
func (e *VideoEncoder) Extradata() []byte { return append([]byte(nil), e.cc.ExtraData()...) }

// SetBitrate changes the target bitrate (b/s) from the next frame on; it is
// safe to call from any goroutine. Encoders that cannot change rate mid-stream
// keep their first one (libx264 can).
func (e *VideoEncoder) SetBitrate(bps int) { e.wantBitrate.Store(int64(bps)) }

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
		e.cc.SetBitRate(b)
		e.cc.SetRateControlMaxRate(b)
		e.cc.SetRateControlMinRate(b)
		e.cc.SetRateControlBufferSize(int(b))
		e.bitrate = b
	}
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
	err = e.cc.SendFrame(frame)
	if frame == e.ref {
		// The encoder took its own reference, if it needed one.
		e.ref.Unref()
	}
	if err != nil {
		return fmt.Errorf("encode video: %w", err)
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

// Flush drains the frames the encoder still holds (B-frames, lookahead).
func (e *VideoEncoder) Flush(emit func(Packet)) error {
	if err := e.cc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush video: %w", err)
	}
	return e.drain(emit)
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
