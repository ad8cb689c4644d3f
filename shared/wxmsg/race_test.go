//go:build race

package wxmsg

const raceEnabled = true
