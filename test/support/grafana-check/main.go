// Command grafana-check loads Grafana dashboard JSON files with the Grafana Foundation
// SDK's generated dashboard model, strictly (an unknown field or a wrong type is an
// error), and validates them, as Grafana's own schema describes a dashboard. Used by
// src/api/monitoring tests; prints "ok <file>" per valid file, exits 1 on the first problem.
package main

import (
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	plugins.RegisterDefaultPlugins()
	for _, file := range os.Args[1:] {
		raw, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var board dashboard.Dashboard
		if err := problem(board.UnmarshalJSONStrict(raw)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(1)
		}
		if err := problem(board.Validate()); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(1)
		}
		fmt.Printf("ok %s: %d panels\n", file, len(board.Panels))
	}
}

// problem is err, or nil when it is an empty list of build errors (the SDK returns its
// error list typed, so an empty one is a non-nil interface).
func problem(err error) error {
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		return nil
	}
	return err
}
