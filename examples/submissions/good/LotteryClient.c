/*
 * LotteryClient - Lab 3 practice 3 (handout skeleton, blanks filled in).
 *
 * usage: LotteryClient <server IP> <port>
 * Prompts "Command (0:GEN 1:LIST 2:END): ", reads an int with scanf("%d"),
 * sends it as a 4-byte int in host byte order.  END closes and exits;
 * otherwise one read() of the reply, printed followed by a newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
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
    int sockfd;
    struct sockaddr_in servaddr;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <server IP> <port>\n", argv[0]);
        exit(1);
    }

    /* (7) socket() */
    if ((sockfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) != 1) {
        fprintf(stderr, "invalid server address: %s\n", argv[1]);
        exit(1);
    }
    servaddr.sin_port = htons(atoi(argv[2]));

    /* (8) connect() */
    if (connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        error("connect");

    while (1) {
        int send_msg;
        ssize_t len;
        char recv_msg[256];

        printf("Command (0:GEN 1:LIST 2:END): ");
        fflush(stdout);
        if (scanf("%d", &send_msg) != 1)    /* end of input or not a number */
            break;

        /* (9) write() */
        if (writen(sockfd, &send_msg, sizeof(send_msg)) == -1)
            error("write");
        if (send_msg == END)
            break;

        /* (10) read() */
        len = read(sockfd, recv_msg, sizeof(recv_msg) - 1);
        if (len == -1)
            error("read");
        if (len == 0) {
            fprintf(stderr, "server closed the connection\n");
            close(sockfd);
            exit(1);
        }
        recv_msg[len] = 0;
        printf("%s\n", recv_msg);
    }

    close(sockfd);
    return 0;
}
