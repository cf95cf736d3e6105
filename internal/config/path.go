package config

import (
	"os"
	"path/filepath"
)

// DefaultPath is $XDG_CONFIG_HOME/stowage/config.yaml, or ~/.config/stowage/config.yaml
// when XDG_CONFIG_HOME is unset or relative (the XDG spec says to ignore relative values).
// It is "" when neither is known; callers then ask for --config.
func DefaultPath() string {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "stowage", "config.yaml")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "stowage", "config.yaml")
}
