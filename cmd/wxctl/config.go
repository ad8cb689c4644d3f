package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/wxcomponent/wxcomponent/shared/config"
)

func configCommands() []spec {
	return []spec{{
		name: "check-config", summary: "validate every setting and secret without printing any",
		run: (*command).checkConfig,
	}}
}

func (c *command) checkConfig(ctx context.Context) error {
	cfg, source, err := c.config(ctx)
	if err != nil {
		if source == "" {
			return err
		}
		return fmt.Errorf("configuration from %s is not valid: %w", source, err)
	}
	fmt.Fprintf(c.stdout, "configuration from %s is valid\n", source)
	t := &table{}
	for _, name := range []string{config.ParamComponentAppID, config.ParamComponentSecret,
		config.ParamComponentToken, config.ParamComponentAESKey, config.ParamStateSecret} {
		t.row("  "+name, "set and valid")
	}
	t.row("  "+config.EnvAPIBase, cfg.APIBase)
	t.row("  "+config.EnvMPBase, cfg.MPBase)
	return t.write(c.stdout)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
