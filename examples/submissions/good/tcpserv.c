/*
 * tcpserv - concurrent echo server (UNP tcpcliserv/tcpserv04.c, libc only).
 *
 * Listens on TCP port 9877 (SERV_PORT), backlog 1024 (LISTENQ).  Forks one
 * child per connection; the child echoes bytes until the client closes.
 * The parent reaps children from a SIGCHLD handler that loops on
 * waitpid(-1, &stat, WNOHANG) (sigchldwaitpid.c), so no zombies remain even
 * when several children end at once, and it retries accept() on EINTR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define SERV_PORT 9877
#define LISTENQ 1024
#define MAXLINE 4096

static void error(const char *msg)
{
    perror(msg);
    exit(1);
}

static ssize_t writen(int fd, const void *vptr, size_t n)
{
    const char *ptr = vptr;
    size_t nleft = n;

    while (nleft > 0) {
        ssize_t nw = write(fd, ptr, nleft);
        if (nw < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        nleft -= (size_t)nw;
        ptr += nw;
    }
    return (ssize_t)n;
}

/* echo everything read from sockfd back to it until EOF */
static void str_echo(int sockfd)
{
    ssize_t n;
    char buf[MAXLINE];

    for (;;) {
        n = read(sockfd, buf, sizeof(buf));
        if (n > 0) {
            if (writen(sockfd, buf, (size_t)n) < 0)
                error("str_echo: write");
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0) {
            error("str_echo: read");
        } else {
            return;             /* EOF: client closed */
        }
    }
}

static void sig_chld(int signo)
{
    pid_t pid;
    int stat;
    int saved_errno = errno;

    (void)signo;
    while ((pid = waitpid(-1, &stat, WNOHANG)) > 0)
        ;                       /* reap every terminated child */
    errno = saved_errno;
}

int main(void)
{
    int listenfd, connfd, on = 1;
    pid_t childpid;
    socklen_t clilen;
    struct sockaddr_in cliaddr, servaddr;
    struct sigaction act;

    if ((listenfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        error("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        error("setsockopt");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(SERV_PORT);

    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) < 0)
        error("bind");
    if (listen(listenfd, LISTENQ) < 0)
        error("listen");

    memset(&act, 0, sizeof(act));
    act.sa_handler = sig_chld;
    sigemptyset(&act.sa_mask);
    act.sa_flags = 0;           /* no SA_RESTART: accept() may fail with EINTR */
    if (sigaction(SIGCHLD, &act, NULL) < 0)
        error("sigaction");

    for (;;) {
        clilen = sizeof(cliaddr);
        if ((connfd = accept(listenfd, (struct sockaddr *)&cliaddr, &clilen)) < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;       /* back to for() */
            error("accept");
        }

        if ((childpid = fork()) < 0) {
            perror("fork");
            close(connfd);
            continue;
        }
        if (childpid == 0) {    /* child process */
            close(listenfd);    /* close listening socket */
            str_echo(connfd);   /* process the request */
            close(connfd);
            exit(0);
        }
        if (close(connfd) < 0)  /* parent closes connected socket */
            perror("close");
    }
}
