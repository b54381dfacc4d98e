# SPDX-License-Identifier: MIT
# bash completion for procbuilder: commands, and each command's options as
# its own --help lists them (asked at completion time, so nothing here goes
# stale); pipeline names for --pipeline; files elsewhere.
_procbuilder()
{
	local cur prev cmd words
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		words=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n 's/^  \([a-z]\+\)  .*/\1/p')
		COMPREPLY=($(compgen -W "$words help --help --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	if [ "$prev" = --pipeline ]; then
		local dir d
		dir=$(dirname "$(command -v "${COMP_WORDS[0]}" 2>/dev/null || echo "${COMP_WORDS[0]}")")
		for d in "$PB_PIPELINE_DIR" "$dir/../pipelines" "$dir/../share/procbuilder/pipelines"; do
			[ -d "$d" ] && words="$words $(cd "$d" && ls *.yaml 2>/dev/null | sed 's/\.yaml$//')"
		done
		COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		words=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _procbuilder procbuilder
