//go:build !race

package wxxml

const raceEnabled = false
