package app

// Engine is the studio engine the window and the headless commands drive.
type Engine struct{}

// NewEngine returns an idle engine.
func NewEngine() *Engine { return &Engine{} }

// About reports what this copy of Tally is built from.
func (e *Engine) About() BuildInfo { return About() }
