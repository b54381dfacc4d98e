# For doxygen (docs/man/Doxyfile): every plain C comment opening is a documentation comment.
s#^\([ \t]*\)/\*\([ ]\|$\)#\1/**\2#
