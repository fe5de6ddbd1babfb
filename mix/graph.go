package mix

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// graph is a libavfilter chain over 48 kHz stereo doubles, interleaved:
// abuffer → the chain → aformat → abuffersink. Doubles because agate,
// acompressor and alimiter work in them: a chain of those converts nothing
// (float in and out would cost two format conversions a block, as much as a
// gate). afftdn works in planar floats; libavfilter inserts its conversions
// when the graph is configured.
//
// A graph is not safe for concurrent use.
type graph struct {
	g    *astiav.FilterGraph
	src  *astiav.BuffersrcFilterContext
	sink *astiav.BuffersinkFilterContext
	in   *astiav.Frame // the block being sent; buffersrc takes its buffer
	out  *astiav.Frame // the block being received
	pts  int64         // frames sent so far: the next block's time stamp
	buf  []float64     // what the last run produced, reused
	mem  *avmem.Closer // frees everything above
}

// newGraph builds and configures chain (a libavfilter filter chain, such as
// "agate=threshold=0.01,acompressor"). The graph runs on the calling
// goroutine only: libavfilter's threads would cost more to wake than a 10 ms
// block costs to filter.
func newGraph(chain string) (*graph, error) {
	var mem avmem.Closer
	defer mem.Close() // frees what exists when a step fails
	var tmp avmem.Closer
	defer tmp.Close() // what is needed only to build the graph

	g := &graph{}
	g.g = avmem.Own(&mem, astiav.AllocFilterGraph())
	if g.g == nil {
		return nil, errors.New("filter graph: out of memory")
	}
	g.g.SetThreadCount(1)
	abuffer, abuffersink := astiav.FindFilterByName("abuffer"), astiav.FindFilterByName("abuffersink")
	if abuffer == nil || abuffersink == nil {
		return nil, errors.New("filter graph: this FFmpeg has no abuffer or abuffersink")
	}
	// The filter contexts belong to the graph, which frees them.
	var err error
	if g.src, err = g.g.NewBuffersrcFilterContext(abuffer, "in"); err != nil {
		return nil, fmt.Errorf("filter graph: abuffer: %w", err)
	}
	if g.sink, err = g.g.NewBuffersinkFilterContext(abuffersink, "out"); err != nil {
		return nil, fmt.Errorf("filter graph: abuffersink: %w", err)
	}
	params := avmem.Own(&tmp, astiav.AllocBuffersrcFilterContextParameters())
	if params == nil {
		return nil, errors.New("filter graph: out of memory")
	}
	params.SetSampleFormat(astiav.SampleFormatDbl)
	params.SetSampleRate(Rate)
	params.SetChannelLayout(astiav.ChannelLayoutStereo)
	params.SetTimeBase(astiav.NewRational(1, Rate))
	if err := g.src.SetParameters(params); err != nil {
		return nil, fmt.Errorf("filter graph: abuffer parameters: %w", err)
	}
	if err := g.src.Initialize(nil); err != nil {
		return nil, fmt.Errorf("filter graph: abuffer: %w", err)
	}
	outputs := avmem.Own(&tmp, astiav.AllocFilterInOut())
	inputs := avmem.Own(&tmp, astiav.AllocFilterInOut())
	if outputs == nil || inputs == nil {
		return nil, errors.New("filter graph: out of memory")
	}
	outputs.SetName("in")
	outputs.SetFilterContext(g.src.FilterContext())
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(g.sink.FilterContext())
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	// aformat pins what comes out to what went in, whatever the filters
	// before it work in.
	full := chain + ",aformat=sample_fmts=dbl:sample_rates=48000:channel_layouts=stereo"
	if err := g.g.Parse(full, inputs, outputs); err != nil {
		return nil, fmt.Errorf("filter graph %q: %w", chain, err)
	}
	if err := g.g.Configure(); err != nil {
		return nil, fmt.Errorf("filter graph %q: %w", chain, err)
	}
	g.in = avmem.Own(&mem, astiav.AllocFrame())
	g.out = avmem.Own(&mem, astiav.AllocFrame())
	if g.in == nil || g.out == nil {
		return nil, errors.New("filter graph: out of memory")
	}
	g.mem = mem.Move()
	return g, nil
}

// run sends the interleaved stereo frames in through the graph and returns
// what came out, which may be more or fewer frames than went in (afftdn
// works in windows of its own); the slice is valid until the next run.
func (g *graph) run(in []float64) ([]float64, error) {
	g.buf = g.buf[:0]
	n := len(in) / Channels
	if n == 0 {
		return g.buf, nil
	}
	// A fresh buffer every block: buffersrc takes the frame's reference, and
	// a filter may hold it after the call (afftdn keeps its window).
	g.in.SetSampleFormat(astiav.SampleFormatDbl)
	g.in.SetSampleRate(Rate)
	g.in.SetChannelLayout(astiav.ChannelLayoutStereo)
	g.in.SetNbSamples(n)
	if err := g.in.AllocBuffer(0); err != nil {
		return nil, fmt.Errorf("filter graph: frame: %w", err)
	}
	copy(avmem.Samples(g.in), doubleBytes(in[:n*Channels]))
	g.in.SetPts(g.pts)
	g.pts += int64(n)
	err := g.src.AddFrame(g.in, 0)
	g.in.Unref() // on success it is already blank; on failure free the buffer
	if err != nil {
		return nil, fmt.Errorf("filter graph: send: %w", err)
	}
	for {
		ok, err := avmem.SinkFrame(g.sink, g.out)
		if err != nil {
			return nil, fmt.Errorf("filter graph: receive: %w", err)
		}
		if !ok {
			return g.buf, nil
		}
		g.buf = append(g.buf, bytesDouble(avmem.Samples(g.out))...)
		g.out.Unref()
	}
}

// close frees the graph. Safe to call twice.
func (g *graph) close() {
	if g != nil {
		g.mem.Close()
	}
}
