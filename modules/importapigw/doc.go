// Package importapigw is the `gpugate import-apigw` command: it reads what
// the AWS CLI prints for an API Gateway REST API (usage plans, API keys with
// their values, the keys of each plan, and optionally the stage's OpenAPI
// export with API Gateway extensions), writes an equivalent gpugate
// Caddyfile, and imports the keys with their existing values into a running
// gateway through the usage-plans admin API. Everything it cannot express
// is reported as a Note naming the AWS field and what to do instead.
package importapigw
