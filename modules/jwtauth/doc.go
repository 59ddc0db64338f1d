// Package jwtauth verifies bearer JWTs (directive jwt_auth).
package jwtauth
