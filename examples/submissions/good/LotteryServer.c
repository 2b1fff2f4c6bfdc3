/*
 * LotteryServer - Lab 3 practice 3 (handout skeleton, blanks filled in).
 *
 * usage: LotteryServer <port>
 * Accepts ONE connection.  Commands are 4-byte ints in host byte order:
 *   GEN (0)  -> "New number generated: N" (distinct, 1..45) or "Full" after 6
 *   LIST (1) -> "numbers: a b c d e f" (0 for numbers not generated yet)
 *   END (2), anything else, or EOF -> close the connection and exit.
 * Replies carry no newline and no NUL.
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

#define GEN 0
#define LIST 1
#define END 2

void error(char *msg)
{
    perror(msg);
    exit(1);
}

/* read exactly n bytes; returns n, fewer at EOF, or -1 on error */
static ssize_t readn(int fd, void *vptr, size_t n)
{
    char *ptr = vptr;
    size_t nleft = n;

    while (nleft > 0) {
        ssize_t nr = read(fd, ptr, nleft);
        if (nr < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (nr == 0)
            break;              /* EOF */
        nleft -= (size_t)nr;
        ptr += nr;
    }
    return (ssize_t)(n - nleft);
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

int main(int argc, char *argv[])
{
    int listenfd, connfd, on = 1;
    struct sockaddr_in cliaddr, servaddr;
    socklen_t clilen;
    int number[6] = {0,};
    int count = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <port>\n", argv[0]);
        exit(1);
    }

    /* (1) socket() */
    if ((listenfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        error("setsockopt");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(atoi(argv[1]));

    /* (2) bind() */
    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        error("bind");

    /* (3) listen() */
    if (listen(listenfd, 5) == -1)
        error("listen");

    /* (4) accept() */
    clilen = sizeof(cliaddr);
    while ((connfd = accept(listenfd, (struct sockaddr *)&cliaddr, &clilen)) == -1) {
        if (errno != EINTR)
            error("accept");
        clilen = sizeof(cliaddr);
    }

    srand(time(NULL));

    while (1) {
        int recv_msg;
        char send_msg[256];
        ssize_t n;

        /* (5) read() */
        n = readn(connfd, &recv_msg, sizeof(recv_msg));
        if (n == -1)
            error("read");
        if (n != sizeof(recv_msg)) {    /* client went away: treat as END */
            close(connfd);
            break;
        }

        if (recv_msg == GEN) {
            if (count < 6) {
                int i, new_num = rand() % 45 + 1;
                for (i = 0; i < count; ++i) {
                    if (new_num == number[i]) {
                        new_num = rand() % 45 + 1;
                        i = -1;
                    }
                }
                sprintf(send_msg, "New number generated: %d", new_num);
                number[count++] = new_num;
            } else
                sprintf(send_msg, "Full");
        } else if (recv_msg == LIST) {
            sprintf(send_msg, "numbers: %d %d %d %d %d %d",
                    number[0], number[1], number[2], number[3], number[4], number[5]);
        } else {
            if (close(connfd) == -1)
                error("close");
            break;
        }

        /* (6) write() */
        if (writen(connfd, send_msg, strlen(send_msg)) == -1)
            error("write");
    }

    if (close(listenfd) == -1)
        error("close");
    return 0;
}
