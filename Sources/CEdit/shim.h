#include <stdio.h>
#include <editline/readline.h>

/* libedit's settings are global variables; Swift 6 reaches them through
 * these functions. */
static inline void rg_edit_set_completion(rl_completion_func_t *function) {
    rl_attempted_completion_function = function;
}
static inline const char *rg_edit_line(void) { return rl_line_buffer; }
static inline void rg_edit_completion_done(int append_character) {
    rl_attempted_completion_over = 1;
    rl_completion_append_character = append_character;
}
