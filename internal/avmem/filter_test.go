//go:build cgo

package avmem

import (
	"testing"

	"github.com/asticode/go-astiav"
)

// audioGraph is abuffer → anull → abuffersink for 44.1 kHz stereo int16,
// freed when the test ends.
func audioGraph(t *testing.T) (*astiav.BuffersrcFilterContext, *astiav.BuffersinkFilterContext) {
	t.Helper()
	var mem Closer
	t.Cleanup(mem.Close)
	g := Own(&mem, astiav.AllocFilterGraph())
	src, err := g.NewBuffersrcFilterContext(astiav.FindFilterByName("abuffer"), "in")
	if err != nil {
		t.Fatal(err)
	}
	sink, err := g.NewBuffersinkFilterContext(astiav.FindFilterByName("abuffersink"), "out")
	if err != nil {
		t.Fatal(err)
	}
	p := Own(&mem, astiav.AllocBuffersrcFilterContextParameters())
	p.SetSampleFormat(astiav.SampleFormatS16)
	p.SetSampleRate(44100)
	p.SetChannelLayout(astiav.ChannelLayoutStereo)
	p.SetTimeBase(astiav.NewRational(1, 44100))
	if err := src.SetParameters(p); err != nil {
		t.Fatal(err)
	}
	if err := src.Initialize(nil); err != nil {
		t.Fatal(err)
	}
	in, out := Own(&mem, astiav.AllocFilterInOut()), Own(&mem, astiav.AllocFilterInOut())
	in.SetName("out")
	in.SetFilterContext(sink.FilterContext())
	out.SetName("in")
	out.SetFilterContext(src.FilterContext())
	if err := g.Parse("anull", in, out); err != nil {
		t.Fatal(err)
	}
	if err := g.Configure(); err != nil {
		t.Fatal(err)
	}
	return src, sink
}

// SinkFrame reads the buffersink through the *C.AVFilterContext behind
// go-astiav's object: what it reads there must be what go-astiav reads, and
// the frame that comes out the one that went in, its samples read in place
// by Samples; with nothing left it says so without an error or an
// allocation.
func TestSinkFrameUsesAstiavFilter(t *testing.T) {
	src, sink := audioGraph(t)
	if got, want := sinkRate(sink), sink.SampleRate(); got != want || got != 44100 {
		t.Fatalf("sample rate through the C pointer %d, through go-astiav %d: want 44100 both", got, want)
	}
	var mem Closer
	defer mem.Close()
	f, out := Own(&mem, astiav.AllocFrame()), Own(&mem, astiav.AllocFrame())
	f.SetSampleFormat(astiav.SampleFormatS16)
	f.SetSampleRate(44100)
	f.SetChannelLayout(astiav.ChannelLayoutStereo)
	f.SetNbSamples(3)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	data := Samples(f)
	if len(data) != 3*2*2 {
		t.Fatalf("Samples: %d bytes, want 12", len(data))
	}
	for i := range data {
		data[i] = byte(i + 1)
	}
	if err := src.AddFrame(f, 0); err != nil {
		t.Fatal(err)
	}
	ok, err := SinkFrame(sink, out)
	if err != nil || !ok {
		t.Fatalf("SinkFrame: %v, %v; want the frame", ok, err)
	}
	if got := Samples(out); string(got) != "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c" {
		t.Fatalf("samples out % x", got)
	}
	out.Unref()
	if n := testing.AllocsPerRun(100, func() {
		if ok, err := SinkFrame(sink, out); ok || err != nil {
			t.Fatalf("SinkFrame on an empty graph: %v, %v", ok, err)
		}
	}); n != 0 {
		t.Errorf("SinkFrame with nothing ready: %.1f allocations, want none", n)
	}
}

// Samples is nil for a planar frame and for one without a buffer.
func TestSamplesOnlyReadsPackedFrames(t *testing.T) {
	var mem Closer
	defer mem.Close()
	f := Own(&mem, astiav.AllocFrame())
	if Samples(f) != nil {
		t.Error("an empty frame has samples")
	}
	f.SetSampleFormat(astiav.SampleFormatFltp)
	f.SetSampleRate(48000)
	f.SetChannelLayout(astiav.ChannelLayoutStereo)
	f.SetNbSamples(8)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	if Samples(f) != nil {
		t.Error("a planar frame read as packed")
	}
}
