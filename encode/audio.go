package encode

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// AudioConfig describes the audio encode: AAC-LC.
type AudioConfig struct {
	SampleRate int // 44100 or 48000
	Channels   int // 1 or 2
	Bitrate    int // bits per second
}

// aacFrameSize is the number of samples in every AAC-LC frame.
const aacFrameSize = 1024

// AudioEncoder turns packed 16-bit PCM of any rate and channel count into AAC.
// Input is resampled to the output format and gathered into exactly
// 1024-sample frames, whatever the capture's chunk size.
type AudioEncoder struct {
	cfg     AudioConfig
	cc      *astiav.CodecContext
	swr     *astiav.SoftwareResampleContext
	fifo    *astiav.AudioFifo
	in      *astiav.Frame // S16 as captured
	conv    *astiav.Frame // resampled, the encoder's format
	frame   *astiav.Frame // 1024 samples for the encoder
	pkt     *astiav.Packet
	samples int64 // samples sent to the encoder: the next frame's pts
	tb      astiav.Rational
	params  *astiav.CodecParameters // for recordings (NewRecorder)
	mem     *avmem.Closer           // frees everything above
}

func layoutFor(channels int) (astiav.ChannelLayout, error) {
	switch channels {
	case 1:
		return astiav.ChannelLayoutMono, nil
	case 2:
		return astiav.ChannelLayoutStereo, nil
	}
	return astiav.ChannelLayout{}, fmt.Errorf("encode: %d audio channels; Tally sends mono or stereo", channels)
}

// NewAudioEncoder opens the AAC encoder. Close releases it.
func NewAudioEncoder(cfg AudioConfig) (*AudioEncoder, error) {
	if cfg.SampleRate != 44100 && cfg.SampleRate != 48000 {
		return nil, fmt.Errorf("encode: audio sample rate %d; use 44100 or 48000", cfg.SampleRate)
	}
	if cfg.Bitrate < 32_000 || cfg.Bitrate > 512_000 {
		return nil, fmt.Errorf("encode: audio bitrate %d b/s out of range 32..512 kb/s", cfg.Bitrate)
	}
	layout, err := layoutFor(cfg.Channels)
	if err != nil {
		return nil, err
	}
	codec := astiav.FindEncoder(astiav.CodecIDAac)
	if codec == nil {
		return nil, fmt.Errorf("%w: no AAC encoder in this FFmpeg build", ErrEncoderUnavailable)
	}
	e := &AudioEncoder{cfg: cfg, tb: astiav.NewRational(1, cfg.SampleRate)}
	var mem avmem.Closer
	defer mem.Close() // frees what is allocated when a step fails

	e.cc = avmem.Own(&mem, astiav.AllocCodecContext(codec))
	e.cc.SetSampleRate(cfg.SampleRate)
	e.cc.SetChannelLayout(layout)
	e.cc.SetSampleFormat(astiav.SampleFormatFltp)
	e.cc.SetBitRate(int64(cfg.Bitrate))
	e.cc.SetTimeBase(e.tb)
	e.cc.SetFlags(e.cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if err := e.cc.Open(codec, nil); err != nil {
		return nil, fmt.Errorf("%w: AAC does not open: %v", ErrEncoderUnavailable, err)
	}
	if e.params, err = codecParameters(&mem, e.cc); err != nil {
		return nil, err
	}
	e.swr = avmem.Own(&mem, astiav.AllocSoftwareResampleContext())
	e.fifo = avmem.Own(&mem, astiav.AllocAudioFifo(astiav.SampleFormatFltp, cfg.Channels, 4*aacFrameSize))
	e.in = avmem.Own(&mem, astiav.AllocFrame())
	e.conv = avmem.Own(&mem, astiav.AllocFrame())
	e.frame = avmem.Own(&mem, astiav.AllocFrame())
	e.frame.SetNbSamples(aacFrameSize)
	e.frame.SetChannelLayout(layout)
	e.frame.SetSampleFormat(astiav.SampleFormatFltp)
	e.frame.SetSampleRate(cfg.SampleRate)
	if err := e.frame.AllocBuffer(0); err != nil {
		return nil, fmt.Errorf("encode: audio frame: %w", err)
	}
	e.pkt = avmem.Own(&mem, astiav.AllocPacket())
	e.mem = mem.Move()
	return e, nil
}

// Extradata is the AudioSpecificConfig.
func (e *AudioEncoder) Extradata() []byte { return append([]byte(nil), e.cc.ExtraData()...) }

// Config is the configuration the encoder was opened with.
func (e *AudioEncoder) Config() AudioConfig { return e.cfg }

// Encode takes packed 16-bit samples (frames × channels) captured at rate with
// the given channel count, and passes every AAC packet that comes out to emit.
// Packet times count samples from the first one encoded.
func (e *AudioEncoder) Encode(pcm []int16, rate, channels int, emit func(Packet)) error {
	if len(pcm) == 0 {
		return nil
	}
	if channels < 1 || len(pcm)%channels != 0 {
		return fmt.Errorf("encode audio: %d samples do not divide into %d channels", len(pcm), channels)
	}
	layout, err := layoutFor(channels)
	if err != nil {
		return err
	}
	n := len(pcm) / channels
	if e.in.NbSamples() != n || e.in.SampleRate() != rate || e.in.ChannelLayout().Channels() != channels {
		e.in.Unref()
		e.in.SetNbSamples(n)
		e.in.SetSampleFormat(astiav.SampleFormatS16)
		e.in.SetChannelLayout(layout)
		e.in.SetSampleRate(rate)
		if err := e.in.AllocBuffer(0); err != nil {
			return fmt.Errorf("encode audio: input frame: %w", err)
		}
	}
	if err := copyInterleaved(e.in, unsafe.Slice((*byte)(unsafe.Pointer(&pcm[0])), 2*len(pcm))); err != nil {
		return err
	}
	e.conv.Unref()
	e.conv.SetChannelLayout(e.frame.ChannelLayout())
	e.conv.SetSampleFormat(astiav.SampleFormatFltp)
	e.conv.SetSampleRate(e.cfg.SampleRate)
	if err := e.swr.ConvertFrame(e.in, e.conv); err != nil {
		return fmt.Errorf("encode audio: resample: %w", err)
	}
	if e.conv.NbSamples() > 0 {
		if _, err := e.fifo.Write(e.conv); err != nil {
			return fmt.Errorf("encode audio: fifo: %w", err)
		}
	}
	for e.fifo.Size() >= aacFrameSize {
		if err := e.encodeFrame(emit); err != nil {
			return err
		}
	}
	return nil
}

func (e *AudioEncoder) encodeFrame(emit func(Packet)) error {
	if err := e.frame.MakeWritable(); err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	if _, err := e.fifo.Read(e.frame); err != nil {
		return fmt.Errorf("encode audio: fifo: %w", err)
	}
	e.frame.SetPts(e.samples)
	e.samples += aacFrameSize
	if err := e.cc.SendFrame(e.frame); err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	return e.drain(emit)
}

// Flush encodes what is left (padded with silence to a whole frame) and drains
// the encoder.
func (e *AudioEncoder) Flush(emit func(Packet)) error {
	if left := e.fifo.Size(); left > 0 {
		if err := e.frame.MakeWritable(); err != nil {
			return err
		}
		if err := e.frame.SamplesFillSilence(); err != nil {
			return err
		}
		if _, err := e.fifo.Read(e.frame); err != nil {
			return err
		}
		e.frame.SetPts(e.samples)
		e.samples += aacFrameSize
		if err := e.cc.SendFrame(e.frame); err != nil {
			return fmt.Errorf("flush audio: %w", err)
		}
	}
	if err := e.cc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush audio: %w", err)
	}
	return e.drain(emit)
}

func (e *AudioEncoder) drain(emit func(Packet)) error {
	for {
		err := e.cc.ReceivePacket(e.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
		p := Packet{Data: append([]byte(nil), e.pkt.Data()...), PTS: ticks(e.pkt.Pts(), e.tb), DTS: ticks(e.pkt.Dts(), e.tb), Keyframe: true}
		e.pkt.Unref()
		emit(p)
	}
}

// Close frees everything the encoder allocated. Safe to call twice.
func (e *AudioEncoder) Close() { e.mem.Close() }
