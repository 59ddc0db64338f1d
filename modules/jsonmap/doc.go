// Package jsonmap maps request and response JSON bodies declaratively (directive json_map).
package jsonmap
