//go:build race

package main

// raceEnabled lets time-compressed tests slow down under the race
// detector, which makes every step several times slower.
const raceEnabled = true
