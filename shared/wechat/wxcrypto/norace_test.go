//go:build !race

package wxcrypto

const raceEnabled = false
