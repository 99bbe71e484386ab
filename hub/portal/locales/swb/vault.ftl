# Passerelle — the vault's pages in Shimaore (shimaorais, ISO 639-3 "swb").
#
# NO REVIEWED TRANSLATION YET. This file is empty on purpose: every
# message falls back to French (fr/vault.ftl) until a native speaker has
# translated it and a second one has reviewed it. Do not add machine or
# guessed translations: see docs/TRADUIRE.md.
