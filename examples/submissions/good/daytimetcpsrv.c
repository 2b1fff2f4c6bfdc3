/*
 * daytimetcpsrv - iterative daytime server (UNP intro/daytimetcpsrv.c, libc only).
 *
 * Listens on TCP port 13 on every interface.  For each connection it writes
 * the current time as ctime() cut to 24 characters plus "\r\n", then closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>

#define DAYTIME_PORT 13
#define LISTENQ 1024
#define MAXLINE 4096

static void error(const char *msg)
{
    perror(msg);
    exit(1);
}

/* write all n bytes, retrying after partial writes and EINTR */
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

int main(void)
{
    int listenfd, connfd, on = 1;
    struct sockaddr_in servaddr;
    char buff[MAXLINE];
    time_t ticks;

    if ((listenfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        error("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        error("setsockopt");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(DAYTIME_PORT);

    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) < 0)
        error("bind");
    if (listen(listenfd, LISTENQ) < 0)
        error("listen");

    for (;;) {
        if ((connfd = accept(listenfd, NULL, NULL)) < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            error("accept");
        }

        ticks = time(NULL);
        snprintf(buff, sizeof(buff), "%.24s\r\n", ctime(&ticks));
        if (writen(connfd, buff, strlen(buff)) < 0)
            perror("write");

        if (close(connfd) < 0)
            perror("close");
    }
}
