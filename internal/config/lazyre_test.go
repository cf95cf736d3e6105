package config

import "testing"

// Every pattern compiles: they are compiled on first use now, not at package init, so a
// typo would otherwise wait for the configuration that uses it.
func TestPatternsCompile(t *testing.T) {
	for _, p := range []*pattern{bucketName, roleARN, accountID, queueNameRe, functionRe, qualifierRe, busNameRe, busARNRe,
		groupRe, sourceRe, yamlLineError, logGroupRe, envNameRe, regionRe, tableRe, tableARNRe, envVarRe, ssmNameRe,
		secretIDRe, headerRe, hexColorRe, bucketRe, legacyBktRe} {
		p.get()
	}
}
