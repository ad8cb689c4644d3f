package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxDotEnvLine bounds one line of a .env file.
const maxDotEnvLine = 64 << 10

// WithDotEnv reads the .env file at path and returns a getenv that answers
// from getenv first and from the file for every name getenv leaves empty, so
// the environment wins over the file. The process environment is not
// changed. A missing file is not an error: getenv is returned as it is, so
// a local run may do without a .env file.
func WithDotEnv(path string, getenv func(string) string) (func(string) string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	vars, err := ParseDotEnv(f)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vars[name]
	}, nil
}

// ParseDotEnv parses .env content: one KEY=VALUE per line, with an optional
// "export " before the key. Blank lines and lines starting with # are
// skipped. A value may be double-quoted (with the escapes \n, \r, \t, \" and
// \\), single-quoted (taken literally), or bare; a bare value ends at a #
// preceded by white space and loses its surrounding white space. A later
// line wins over an earlier one with the same key. Errors give the line
// number, never the line.
func ParseDotEnv(r io.Reader) (map[string]string, error) {
	vars := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxDotEnvLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, err := parseDotEnvLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		vars[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return vars, nil
}

func parseDotEnvLine(line string) (key, value string, err error) {
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimSpace(rest)
	}
	key, raw, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New("expected KEY=VALUE")
	}
	key = strings.TrimSpace(key)
	if !validKey(key) {
		return "", "", errors.New("invalid variable name")
	}
	bare := raw
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return key, "", nil
	}
	var rest string
	switch raw[0] {
	case '"':
		value, rest, err = unquoteDouble(raw[1:])
	case '\'':
		var ok bool
		value, rest, ok = strings.Cut(raw[1:], "'")
		if !ok {
			err = errors.New("unterminated single quote")
		}
	default:
		return key, stripComment(bare), nil
	}
	if err != nil {
		return "", "", err
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return "", "", errors.New("unexpected text after closing quote")
	}
	return key, value, nil
}

// unquoteDouble reads a double-quoted value up to its closing quote and
// returns it with the text after the quote.
func unquoteDouble(s string) (value, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated double quote")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated double quote")
}

// stripComment cuts a bare value (as it follows the "=") at the first # that
// follows white space, and trims it.
func stripComment(v string) string {
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.TrimSpace(v)
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}
