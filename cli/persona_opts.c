/* SPDX-License-Identifier: MIT */
/*
 * run's personality options, named as setarch(8) names its flags
 * (--read-implies-exec, --uname-2.6, --addr-no-randomize, ...), and
 * --personality VALUE for the whole value (setarch's ARCH: 0x0008 is
 * linux32). The flags are or-ed into ours (or into --personality's value)
 * and handed to pb_set_personality, which refuses the ones that change the
 * layout unless we run with them already.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>

#include "cli/cli.h"
#include "cli/launch.h"
#include "procbuilder.h"

static const struct { const char *name; unsigned long bit; } persona_flags[] = {
	{"uname-2.6", UNAME26}, {"fdpic-funcptrs", FDPIC_FUNCPTRS}, {"mmap-page-zero", MMAP_PAGE_ZERO},
	{"addr-compat-layout", ADDR_COMPAT_LAYOUT}, {"read-implies-exec", READ_IMPLIES_EXEC},
	{"32bit", ADDR_LIMIT_32BIT}, {"short-inode", SHORT_INODE}, {"whole-seconds", WHOLE_SECONDS},
	{"sticky-timeouts", STICKY_TIMEOUTS}, {"3gb", ADDR_LIMIT_3GB}, {"addr-no-randomize", ADDR_NO_RANDOMIZE},
};

int pb_persona_parse_opt(struct pb_persona_opts *o, const char *name, const char *arg, const char *cmd)
{
	char *end;

	o->given = true;
	if (strcmp(name, "personality") == 0) {
		errno = 0;
		o->value = strtoul(arg, &end, 0);
		if (errno || end == arg || *end || o->value >= 0xffffffffu) {
			pb_cli_error(cmd, "--personality wants a number below 0xffffffff (as personality(2) takes it: "
				     "0x0008 is linux32), not '%s'", arg);
			return -1;
		}
		o->value_given = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(persona_flags) / sizeof(persona_flags[0]); i++)
		if (strcmp(name, persona_flags[i].name) == 0)
			o->flags |= persona_flags[i].bit;
	return 0;
}

int pb_persona_apply(const struct pb_persona_opts *o, struct pb_builder *b, const char *cmd)
{
	int ours = personality(0xffffffff);
	unsigned long persona = (o->value_given ? o->value : (unsigned long)(ours < 0 ? 0 : ours)) | o->flags;
	int r;

	if (!o->given)
		return 0;
	r = pb_set_personality(b, persona);
	if (r == -EOPNOTSUPP)
		pb_cli_error(cmd, "personality 0x%lx changes where the program is placed (ADDR_NO_RANDOMIZE, "
			     "ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, ADDR_LIMIT_*), which procbuilder plans from its own "
			     "personality before it sets the program's: run procbuilder itself under setarch for that",
			     persona);
	else if (r < 0)
		pb_cli_error(cmd, "personality 0x%lx: %s", persona, strerror(-r));
	return r;
}

const char pb_persona_help[] =
	"      --personality VALUE   the personality, as personality(2) takes it (0x0008:\n"
	"                            linux32, as setarch i686)\n"
	"      --read-implies-exec, --uname-2.6, --short-inode, --whole-seconds,\n"
	"      --sticky-timeouts, --fdpic-funcptrs  those personality flags (setarch's\n"
	"                            names; a 64-bit exec clears read-implies-exec, as here)\n"
	"      --addr-no-randomize, --addr-compat-layout, --mmap-page-zero, --32bit, --3gb\n"
	"                            only as we have them already (run procbuilder under\n"
	"                            setarch): the layout is planned before they would be set\n";
