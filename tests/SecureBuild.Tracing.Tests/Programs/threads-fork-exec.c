#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>

static int rounds;
static void open_named(const char *kind, int a, int b) {
    char name[64];
    snprintf(name, sizeof name, "%s-%d-%d", kind, a, b);
    int fd = open(name, O_RDONLY);
    if (fd < 0) { perror(name); _exit(3); }
    close(fd);
}
static void *worker(void *arg) {
    long i = (long)arg;
    open_named("t", (int)i, 0);          /* the new thread's first system call */
    if (i % 4 == 0) {                     /* a thread that forks, whose child opens and exits at once */
        pid_t p = fork();
        if (p == 0) { open_named("c", (int)i, 0); _exit(0); }
        waitpid(p, NULL, 0);
    }
    open_named("t", (int)i, 1);
    return NULL;
}
static void *execer(void *arg) {
    (void)arg;
    char *argv[] = { "/bin/cat", "x-exec", NULL };
    execv(argv[0], argv);
    _exit(4);
}
int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 200;
    for (int r = 0; r < rounds; r += 8) {
        pthread_t t[8];
        for (int k = 0; k < 8 && r + k < rounds; k++) pthread_create(&t[k], NULL, worker, (void *)(long)(r + k));
        for (int k = 0; k < 8 && r + k < rounds; k++) pthread_join(t[k], NULL);
    }
    pthread_t e;
    pthread_create(&e, NULL, execer, NULL);   /* exec from a non-leader thread of a multithreaded process */
    pthread_join(e, NULL);
    return 5;
}
