package scene

import (
	"fmt"
	"slices"
)

// The edits the studio makes. Each checks what it changes and leaves the
// collection as valid as it found it: names stay unique and well-formed,
// the scene on air follows a rename and moves to a neighbour when it is
// removed, one scene always remains, and no list outgrows its limit. Their
// errors wrap ErrNotFound, ErrExists or ErrInvalid.

// AddScene adds an empty scene at the end.
func (c *Collection) AddScene(name string) error {
	if err := newName("scene", name, c.sceneIndex(name) >= 0); err != nil {
		return err
	}
	if len(c.Scenes) >= MaxScenes {
		return &problem{msg: fmt.Sprintf("a collection may have at most %d scenes", MaxScenes)}
	}
	c.Scenes = append(c.Scenes, Scene{Name: name, Layers: []Layer{}})
	return nil
}

// RenameScene renames a scene; Active follows it.
func (c *Collection) RenameScene(old, name string) error {
	i := c.sceneIndex(old)
	if i < 0 {
		return fmt.Errorf("scene %q: %w", old, ErrNotFound)
	}
	if name == old {
		return nil
	}
	if err := newName("scene", name, c.sceneIndex(name) >= 0); err != nil {
		return err
	}
	c.Scenes[i].Name = name
	if c.Active == old {
		c.Active = name
	}
	return nil
}

// RemoveScene removes a scene. When it is the one on air, the scene that
// takes its place in the list (or the one before, for the last) goes on
// air. The last scene cannot be removed.
func (c *Collection) RemoveScene(name string) error {
	i := c.sceneIndex(name)
	if i < 0 {
		return fmt.Errorf("scene %q: %w", name, ErrNotFound)
	}
	if len(c.Scenes) == 1 {
		return &problem{msg: fmt.Sprintf("scene %q is the last one, and a collection needs a scene", name)}
	}
	onAir := c.ActiveScene() == &c.Scenes[i]
	c.Scenes = slices.Delete(c.Scenes, i, i+1)
	if onAir {
		c.Active = c.Scenes[min(i, len(c.Scenes)-1)].Name
	}
	return nil
}

// MoveScene moves a scene to position to (0 is the first) in the list. What
// is on air does not change, even when Active was "" (the first scene).
func (c *Collection) MoveScene(name string, to int) error {
	i := c.sceneIndex(name)
	if i < 0 {
		return fmt.Errorf("scene %q: %w", name, ErrNotFound)
	}
	if to < 0 || to >= len(c.Scenes) {
		return &problem{msg: fmt.Sprintf("position %d is out of range 0..%d", to, len(c.Scenes)-1)}
	}
	if c.Active == "" && i != to && (i == 0 || to == 0) {
		c.Active = c.Scenes[0].Name
	}
	move(c.Scenes, i, to)
	return nil
}

// SetActive puts a scene on air.
func (c *Collection) SetActive(name string) error {
	if c.sceneIndex(name) < 0 {
		return fmt.Errorf("scene %q: %w", name, ErrNotFound)
	}
	c.Active = name
	return nil
}

// AddSource adds a source at the end. Its fields are checked as Validate
// does, except for the files it names.
func (c *Collection) AddSource(s Source) error {
	if err := newName("source", s.Name, c.sourceIndex(s.Name) >= 0); err != nil {
		return err
	}
	if len(c.Sources) >= MaxSources {
		return &problem{msg: fmt.Sprintf("a collection may have at most %d sources", MaxSources)}
	}
	if _, e := checkSource(fmt.Sprintf("sources[%d]", len(c.Sources)), &s, false); e != nil {
		return e
	}
	c.Sources = append(c.Sources, s)
	return nil
}

// RenameSource renames a source and every layer that shows it.
func (c *Collection) RenameSource(old, name string) error {
	i := c.sourceIndex(old)
	if i < 0 {
		return fmt.Errorf("source %q: %w", old, ErrNotFound)
	}
	if name == old {
		return nil
	}
	if err := newName("source", name, c.sourceIndex(name) >= 0); err != nil {
		return err
	}
	c.Sources[i].Name = name
	for s := range c.Scenes {
		for j := range c.Scenes[s].Layers {
			if l := &c.Scenes[s].Layers[j]; l.Source == old {
				l.Source = name
			}
		}
	}
	return nil
}

// RemoveSource removes a source and, from every scene, the layers that show
// it.
func (c *Collection) RemoveSource(name string) error {
	i := c.sourceIndex(name)
	if i < 0 {
		return fmt.Errorf("source %q: %w", name, ErrNotFound)
	}
	c.Sources = slices.Delete(c.Sources, i, i+1)
	for s := range c.Scenes {
		c.Scenes[s].Layers = slices.DeleteFunc(c.Scenes[s].Layers, func(l Layer) bool { return l.Source == name })
	}
	return nil
}

// AddLayer puts a layer on top of the scene. What a layer says about itself
// is checked here (a source named, its box, crop, opacity, fit); that its
// source exists and that it is on the canvas, Validate checks, since a scene
// does not know its collection. A 0x0 box stays 0x0 until Normalise.
func (s *Scene) AddLayer(l Layer) error {
	if len(s.Layers) >= MaxLayers {
		return &problem{msg: fmt.Sprintf("scene %q has %d layers, the most a scene may have", s.Name, MaxLayers)}
	}
	if e := checkLayerShape(fmt.Sprintf("layers[%d]", len(s.Layers)), &l); e != nil {
		return e
	}
	s.Layers = append(s.Layers, l)
	return nil
}

// RemoveLayer removes the layer at index i (0 is the bottom).
func (s *Scene) RemoveLayer(i int) error {
	if i < 0 || i >= len(s.Layers) {
		return fmt.Errorf("scene %q: layer %d: %w", s.Name, i, ErrNotFound)
	}
	s.Layers = slices.Delete(s.Layers, i, i+1)
	return nil
}

// MoveLayer moves the layer at index from to index to; the others keep
// their order.
func (s *Scene) MoveLayer(from, to int) error {
	for _, i := range []int{from, to} {
		if i < 0 || i >= len(s.Layers) {
			return fmt.Errorf("scene %q: layer %d: %w", s.Name, i, ErrNotFound)
		}
	}
	move(s.Layers, from, to)
	return nil
}

// newName checks a new name for a scene or source; taken says another has
// it already.
func newName(what, name string, taken bool) error {
	if e := checkName("", name); e != nil {
		return fmt.Errorf("%s name: %w", what, e.Err)
	}
	if taken {
		return fmt.Errorf("%s %q: %w", what, name, ErrExists)
	}
	return nil
}

// move moves s[from] to s[to], shifting those between.
func move[T any](s []T, from, to int) {
	v := s[from]
	if from < to {
		copy(s[from:to], s[from+1:to+1])
	} else {
		copy(s[to+1:from+1], s[to:from])
	}
	s[to] = v
}
