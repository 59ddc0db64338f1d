// Package runpod rewrites gateway requests onto RunPod's v2 and Serverless APIs (directive runpod).
package runpod
