# SPDX-License-Identifier: MIT
"""A small writer for build.ninja files, in the spirit of ninja's own
misc/ninja_syntax.py (written here, not copied)."""

import re
import textwrap


def escape_path(word):
    return word.replace('$ ', '$$ ').replace(' ', '$ ').replace(':', '$:')


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


class Writer:
    def __init__(self, output, width=78):
        self.output = output
        self.width = width

    def newline(self):
        self.output.write('\n')

    def comment(self, text):
        for line in textwrap.wrap(text, self.width - 2, break_long_words=False,
                                  break_on_hyphens=False):
            self.output.write('# ' + line + '\n')

    def variable(self, key, value, indent=0):
        if isinstance(value, list):
            value = ' '.join(v for v in value if v)
        self._line('%s = %s' % (key, value), indent)

    def pool(self, name, depth):
        self._line('pool %s' % name)
        self.variable('depth', depth, indent=1)

    def rule(self, name, command, description=None, depfile=None,
             generator=False, pool=None, restat=False, deps=None):
        self._line('rule %s' % name)
        self.variable('command', command, indent=1)
        for key, value in (('description', description), ('depfile', depfile),
                           ('pool', pool), ('deps', deps)):
            if value:
                self.variable(key, value, indent=1)
        if generator:
            self.variable('generator', '1', indent=1)
        if restat:
            self.variable('restat', '1', indent=1)

    def build(self, outputs, rule, inputs=None, implicit=None, order_only=None,
              variables=None, implicit_outputs=None, pool=None):
        """Writes one edge and returns its outputs, so callers can chain."""
        outputs = _as_list(outputs)
        out = [escape_path(x) for x in outputs]
        all_inputs = [escape_path(x) for x in _as_list(inputs)]
        implicit = [escape_path(x) for x in _as_list(implicit)]
        order_only = [escape_path(x) for x in _as_list(order_only)]
        implicit_outputs = [escape_path(x) for x in _as_list(implicit_outputs)]
        if implicit:
            all_inputs += ['|'] + implicit
        if order_only:
            all_inputs += ['||'] + order_only
        if implicit_outputs:
            out += ['|'] + implicit_outputs
        self._line('build %s: %s' % (' '.join(out), ' '.join([rule] + all_inputs)))
        if pool:
            self.variable('pool', pool, indent=1)
        for key, value in (variables or {}).items():
            self.variable(key, value, indent=1)
        return outputs

    def default(self, paths):
        self._line('default %s' % ' '.join(_as_list(paths)))

    def _count_dollars_before_index(self, s, i):
        dollar_count = 0
        dollar_index = i - 1
        while dollar_index > 0 and s[dollar_index] == '$':
            dollar_count += 1
            dollar_index -= 1
        return dollar_count

    def _line(self, text, indent=0):
        """Writes text, wrapped at self.width with '$' continuations."""
        leading = '  ' * indent
        while len(leading) + len(text) > self.width:
            available = self.width - len(leading) - len(' $')
            space = available
            while True:
                space = text.rfind(' ', 0, space)
                if space < 0 or self._count_dollars_before_index(text, space) % 2 == 0:
                    break
            if space < 0:
                space = available - 1
                while True:
                    space = text.find(' ', space + 1)
                    if space < 0 or self._count_dollars_before_index(text, space) % 2 == 0:
                        break
            if space < 0:
                break
            self.output.write(leading + text[0:space] + ' $\n')
            text = text[space + 1:]
            leading = '  ' * (indent + 2)
        self.output.write(leading + text + '\n')


def is_identifier(name):
    return re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', name) is not None
