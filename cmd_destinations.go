package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tallystudio/tally/app"
)

// destinationsFile is what `tally stream --destinations FILE` reads: several
// destinations, each with its own output. Keys never appear in it: each
// names the environment variable or keyring entry that holds its key.
type destinationsFile struct {
	Destinations []destinationEntry `json:"destinations"`
}

type destinationEntry struct {
	Service string `json:"service"`
	URL     string `json:"url"`
	// KeyEnv names the environment variable holding the key; KeyEntry the
	// system keyring's entry.
	KeyEnv         string `json:"key_env"`
	KeyEntry       string `json:"key_entry"`
	Key            string `json:"key"` // refused: keys come from the environment or the keyring
	CAFile         string `json:"ca_file"`
	Insecure       bool   `json:"insecure"`
	DynamicBitrate bool   `json:"dynamic_bitrate"`
	AssumeEnhanced bool   `json:"assume_enhanced"`
	// Output names an output preset (app.OutputPresets); Video lists the
	// renditions instead: one for an output of its own, several for
	// multitrack.
	Output string          `json:"output"`
	Video  []renditionJSON `json:"video"`
}

type renditionJSON struct {
	Encoder string `json:"encoder"`
	Size    string `json:"size"`    // WIDTHxHEIGHT
	FPS     int    `json:"fps"`     // divides the canvas's
	Bitrate string `json:"bitrate"` // 3500k, 6M
	Keyint  string `json:"keyint"`  // 2s
	Speed   string `json:"speed"`   // the encoder's preset: ultrafast … veryslow
}

// maxDestinationsFile bounds what is read: a destinations file is a few
// hundred bytes, and a wrong path (a video, a device) must not be slurped.
const maxDestinationsFile = 1 << 20

// loadDestinations reads a destinations file. Errors name the entry and the
// field that is wrong; none contains a key.
func loadDestinations(path string, canvas app.VideoSettings, keyring app.KeyStore) ([]app.Destination, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDestinationsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxDestinationsFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; is it a destinations file?", path, maxDestinationsFile)
	}
	var file destinationsFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(file.Destinations) == 0 {
		return nil, fmt.Errorf("%s: no destinations", path)
	}
	var out []app.Destination
	for i, e := range file.Destinations {
		d, err := e.destination(canvas, keyring)
		if err != nil {
			return nil, fmt.Errorf("%s: destinations[%d]: %w", path, i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (e destinationEntry) destination(canvas app.VideoSettings, keyring app.KeyStore) (app.Destination, error) {
	d := app.Destination{Service: e.Service, URL: e.URL, CAFile: e.CAFile, Insecure: e.Insecure,
		DynamicBitrate: e.DynamicBitrate, AssumeEnhanced: e.AssumeEnhanced}
	if e.Key != "" {
		return d, errors.New("key: a key is not kept in the file; name the environment variable that holds it in key_env, or a keyring entry in key_entry")
	}
	switch {
	case e.KeyEnv != "" && e.KeyEntry != "":
		return d, errors.New("key_env and key_entry both name the key; give one")
	case e.KeyEnv != "":
		k, ok := os.LookupEnv(e.KeyEnv)
		if !ok {
			return d, fmt.Errorf("key_env: the environment has no %s", e.KeyEnv)
		}
		d.Key = app.StreamKey(k)
	case e.KeyEntry != "":
		k, err := keyring.Get(e.KeyEntry)
		if err != nil {
			return d, fmt.Errorf("key_entry: %w", err)
		}
		if k == "" {
			return d, fmt.Errorf("key_entry: the system keyring has no entry %q under %q", e.KeyEntry, app.KeyringService)
		}
		d.Key = app.StreamKey(k)
	}
	if e.Output != "" && len(e.Video) > 0 {
		return d, errors.New("output and video both set the video; give one")
	}
	if e.Output != "" {
		p, ok := app.OutputPresetByID(e.Output)
		if !ok {
			return d, fmt.Errorf("output: no preset %q (%s)", e.Output, outputPresetIDs())
		}
		d.Video = p.Tracks(canvas)
		if d.Service == "" && d.URL == "" {
			d.Service = p.Service
		}
	}
	for t, r := range e.Video {
		rd, err := r.rendition()
		if err != nil {
			return d, fmt.Errorf("video[%d].%w", t, err)
		}
		d.Video = append(d.Video, rd)
	}
	if err := fillService(&d); err != nil {
		return d, err
	}
	return d, nil
}

func (r renditionJSON) rendition() (app.Rendition, error) {
	out := app.Rendition{Encoder: r.Encoder, FPS: r.FPS, Preset: r.Speed}
	var err error
	if r.Size != "" {
		if out.Width, out.Height, err = parseSize(r.Size); err != nil {
			return out, fmt.Errorf("size: %w", err)
		}
	}
	if r.Bitrate != "" {
		if out.Bitrate, err = parseBitrate(r.Bitrate); err != nil {
			return out, fmt.Errorf("bitrate: %w", err)
		}
	}
	if r.Keyint != "" {
		if out.KeyframeInterval, err = parseSeconds(r.Keyint); err != nil {
			return out, fmt.Errorf("keyint: %w", err)
		}
	}
	return out, nil
}

// fillService completes a destination the way --service and --url do: no
// service with a URL is a custom server; a preset without a URL takes its
// own.
func fillService(d *app.Destination) error {
	switch {
	case d.Service == "" && d.URL == "":
		d.Service = "local"
	case d.Service == "":
		d.Service = "custom"
	}
	if svc, ok := app.ServiceByID(d.Service); ok && d.URL == "" && d.Service != "local" {
		d.URL = svc.URL
		if d.URL == "" {
			return fmt.Errorf("service %s needs a url: the platform shows it next to the key", d.Service)
		}
	}
	return nil
}

// outputPresetIDs lists the output presets, for help and errors.
func outputPresetIDs() string {
	var ids []string
	for _, p := range app.OutputPresets() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}
