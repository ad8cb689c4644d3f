//go:build !race

package wxmsg

const raceEnabled = false
