//go:build race

package wxcrypto

const raceEnabled = true
